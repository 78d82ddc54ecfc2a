"""Flushing and stopping the exporters within a time budget: a dead collector never hangs the app.

    flushed = run_with_timeout(lambda: flush(processors, meter_provider, 5.0), 5.0, "force_flush")
    stopped = run_with_timeout(
        lambda: stop(processors, tracer_provider, meter_provider, 5.0, 30.0), 30.0, "shutdown"
    )

``run_with_timeout`` runs the work in a daemon thread and stops waiting at the
timeout (one warning). ``flush`` and ``stop`` keep to 90% of it themselves, so the
caller hears their precise account (what was dropped, spooled or not exported), not
a bare "did not finish". ``tracer_provider`` and ``meter_provider`` are the providers
llmtrace owns (``None`` for the application's, which llmtrace never shuts down).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from ._errors import Failed, attempt, logger
from ._export_processor import ExportProcessor


def flush(processors: Sequence[SpanProcessor], meter_provider: Any, timeout: float) -> bool:
    """Export what the processors (and an owned MeterProvider) hold now; False if not all."""
    # Within 90% of the timeout, as stop(): the caller hears our account, not a bare
    # "did not finish".
    deadline = time.monotonic() + 0.9 * timeout
    ok = True
    for processor in processors:
        ok = processor.force_flush(_millis_left(deadline)) and ok
    if meter_provider is not None:
        ok = _metrics_done(meter_provider.force_flush, deadline, "flushed") and ok
    return ok


def stop(
    processors: Sequence[SpanProcessor],
    tracer_provider: TracerProvider | None,
    meter_provider: Any,
    timeout: float,
    patience: float | None = None,
) -> bool:
    """Export what is queued and shut the processors (or the owned providers) down."""
    # Our export processors stop within 90% of the timeout, leaving the rest for
    # closing exporters, so the caller hears their precise account, not a bare timeout.
    # All of them start flushing at once: several exporters share one time budget.
    started = time.monotonic()
    exporting = [p for p in processors if isinstance(p, ExportProcessor)]
    for exporter in exporting:
        exporter.begin_stop()
    ok = True
    for exporter in exporting:
        spent = time.monotonic() - started
        ok = (
            exporter.stop(
                max(0.0, 0.9 * timeout - spent),
                None if patience is None else max(0.0, 0.9 * patience - spent),
            )
            and ok
        )
    deadline = started + max(timeout, patience or 0.0)
    if tracer_provider is not None:
        tracer_provider.shutdown()
    else:
        for processor in processors:
            processor.shutdown()
    if meter_provider is not None:
        done = _metrics_done(meter_provider.shutdown, deadline, "exported at shutdown")
        ok = done and ok
    return ok


def _metrics_done(step: Callable[..., Any], deadline: float, what: str) -> bool:
    """Flush or shut down the MeterProvider; a collector that is down costs one log line.

    The SDK raises (e.g. ``MetricsTimeoutError``) when a reader does not finish in time;
    that is the collector's state, not an llmtrace bug: no traceback.
    """
    left = _millis_left(deadline)
    if left > 0:
        done = attempt(step, timeout_millis=left)  # the SDK reports a slow collector by raising
        if isinstance(done, Failed):
            logger.debug("llmtrace: metrics not %s: %r", what, done.error)
        elif done is not False:
            return True
    logger.warning(
        "llmtrace: metrics were not %s in time (collector unreachable or too slow?)", what
    )
    return False


def _millis_left(deadline: float) -> int:
    return max(0, int((deadline - time.monotonic()) * 1000))


def run_with_timeout(func: Callable[[], bool], timeout: float, what: str) -> bool:
    """Run ``func`` in a daemon thread and give up waiting after ``timeout`` seconds."""
    result: list[bool] = []

    def target() -> None:
        done = attempt(func)  # an exporter failure must not reach the app
        if isinstance(done, Failed):
            logger.warning("llmtrace: %s failed", what, exc_info=done.error)
            result.append(False)
        else:
            result.append(done)

    worker = threading.Thread(target=target, name=f"llmtrace-{what}", daemon=True)
    try:
        worker.start()
    except RuntimeError:
        # No new threads at interpreter shutdown (Python 3.12+): run inline; our export
        # processors bound their own waiting, so this still ends near the timeout.
        target()
        return bool(result and result[0])
    worker.join(timeout)
    if worker.is_alive():
        logger.warning(
            "llmtrace: %s did not finish within %.1f s (collector unreachable?); "
            "unexported spans are dropped",
            what,
            timeout,
        )
        return False
    return bool(result and result[0])
