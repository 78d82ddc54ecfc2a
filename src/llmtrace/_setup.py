"""``init()``, ``shutdown()`` and ``force_flush()``: the only code that installs anything.

``init()`` resolves settings once, then either reuses the application's SDK
TracerProvider (adding llmtrace's processors to it) or builds one with a
sampler, a bounded batch exporter and, with no collector configured, the
terminal trace tree (``_export.py`` builds providers and exporters). It turns on
the requested auto-instrumentations through their ``llmtrace_<name>`` entry points.
``Tracing`` is the handle it returns. Flushing and shutdown, at exit too, run with
a timeout (``_flushing.py``) so a dead collector cannot hang the process on exit.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any

from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from ._config import INSTRUMENTATIONS, KNOWN_INSTRUMENTATIONS, Settings, resolve_settings
from ._errors import ConfigurationError, Failed, attempt, internal_errors, logger
from ._export import choose_meter_provider, choose_tracer_provider, export_processors
from ._flushing import flush, run_with_timeout, stop
from ._runtime import runtime
from ._session_processor import ContextAttributesProcessor
from .instrumentation import switch_off, switch_on

# shutdown_timeout left unset: exit-time flushing gives up after DEFAULT_SHUTDOWN_TIMEOUT s
# when the collector is unreachable or failing, but waits up to SHUTDOWN_PATIENCE s in all
# for one that is reachable and has not failed an export since (MLflow takes 7-8 s to accept
# its first GenAI spans). A shutdown_timeout that is set is a hard bound.
DEFAULT_SHUTDOWN_TIMEOUT = 5.0
SHUTDOWN_PATIENCE = 30.0

_lock = threading.RLock()
_active: Tracing | None = None


class Tracing:
    """The handle ``init()`` returns: what was set up, and how to flush or stop it."""

    def __init__(
        self,
        settings: Settings,
        tracer_provider: TracerProvider | None,
        owns_provider: bool,
        processors: Sequence[SpanProcessor],
        meter_provider: Any = None,
        owns_meter_provider: bool = False,
    ) -> None:
        self.settings = settings
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.instrumented: list[str] = []
        # The endpoint Prometheus scrapes (metrics_exporter="prometheus"), or None.
        self.prometheus: Any = None
        self._owns_provider = owns_provider
        self._owns_meter_provider = owns_meter_provider
        self._processors = list(processors)
        self._shut_down = False

    @property
    def prometheus_url(self) -> str | None:
        """Where Prometheus scrapes llmtrace's metrics (``metrics_exporter="prometheus"``)."""
        return self.prometheus.url if self.prometheus is not None else None

    @property
    def enabled(self) -> bool:
        return self.tracer_provider is not None and not self._shut_down

    @property
    def dropped_spans(self) -> int:
        """Spans never handed to the exporter: the queue was full (collector down or too
        slow), or they were still queued when shutdown timed out."""
        return sum(getattr(p, "dropped", 0) for p in self._processors)

    @property
    def failed_spans(self) -> int:
        """Spans in export batches the collector rejected or never answered (after retries)."""
        return sum(getattr(p, "failed", 0) for p in self._processors)

    @property
    def spooled_spans(self) -> int:
        """Spans written to the on-disk spool (``spool_dir``) because the collector was down."""
        return sum(getattr(p, "spooled", 0) for p in self._processors)

    @property
    def exported_spans(self) -> int:
        """Spans the collector accepted."""
        return sum(getattr(p, "exported", 0) for p in self._processors)

    def force_flush(self, timeout: float | None = None) -> bool:
        """Export queued spans now; False if that did not finish within ``timeout`` seconds."""
        if not self.enabled:
            return True
        limit = _shutdown_limits(self.settings, timeout)[0]
        return run_with_timeout(
            lambda: flush(self._processors, self._owned_meter_provider(), limit),
            limit,
            "force_flush",
        )

    def shutdown(self, timeout: float | None = None) -> bool:
        """Flush and stop exporting, within ``timeout`` seconds (default: shutdown_timeout)."""
        global _active
        with _lock:
            if self._shut_down:
                return True
            self._shut_down = True
            if _active is self:
                _active = None
            _uninstrument(self.instrumented)
            if runtime.tracer_provider is self.tracer_provider:
                runtime.tracer_provider = None
            runtime.reset_tracer_cache()
            if self.meter_provider is not None:
                from ._genai import metrics

                metrics.reset()
            if self.prometheus is not None:
                # Now, not after the timed flush: the port is free for the next init().
                with internal_errors:
                    self.prometheus.shutdown()
        if self.tracer_provider is None:
            return True
        limit, patience = _shutdown_limits(self.settings, timeout)
        owned_tracer_provider = self.tracer_provider if self._owns_provider else None
        return run_with_timeout(
            lambda: stop(
                self._processors,
                owned_tracer_provider,
                self._owned_meter_provider(),
                limit,
                patience,
            ),
            max(limit, patience or 0.0),
            "shutdown",
        )

    def _owned_meter_provider(self) -> Any:
        """The MeterProvider if llmtrace built it (and so flushes and shuts it down), else None."""
        return self.meter_provider if self._owns_meter_provider else None


def _shutdown_limits(settings: Settings, timeout: float | None) -> tuple[float, float | None]:
    """(timeout, patience) of a flush or shutdown: see DEFAULT_SHUTDOWN_TIMEOUT."""
    if timeout is not None:
        return timeout, None
    if settings.shutdown_timeout is not None:
        return settings.shutdown_timeout, None
    return DEFAULT_SHUTDOWN_TIMEOUT, SHUTDOWN_PATIENCE


def init(
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    exporter: str | SpanExporter | None = None,
    console: bool | None = None,
    capture_content: bool | None = None,
    sample_rate: float | None = None,
    instrument: bool | Sequence[str] | None = None,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    metrics: bool | None = None,
    metrics_exporter: str | Sequence[str] | None = None,
    prometheus_host: str | None = None,
    prometheus_port: int | None = None,
    redact: Callable[[Any], Any] | None = None,
    max_attribute_bytes: int | None = None,
    export_timeout: float | None = None,
    max_queue_size: int | None = None,
    shutdown_timeout: float | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
    spool_max_bytes: int | None = None,
    model_version: str | None = None,
    prices: Any = None,
    prompt_interop: bool | None = None,
    openai_usage_hosts: Sequence[str] | None = None,
    providers: Mapping[str, str] | None = None,
    resource_attributes: Mapping[str, str] | None = None,
) -> Tracing:
    """Set up tracing and return its handle. Safe to call twice (the first setup stays).

    Every argument can also come from the environment (``docs/configuration.md``);
    arguments win. A bad argument raises ``ConfigurationError`` naming it.
    """
    global _active
    arguments = dict(locals())
    settings = resolve_settings(arguments)
    with _lock:
        if _active is not None:
            logger.warning(
                "llmtrace.init() called again; keeping the first setup "
                "(call llmtrace.shutdown() first to change settings)"
            )
            return _active
        handle = _build(settings)
        _active = handle
    _instrument(handle)
    return handle


def _build(settings: Settings) -> Tracing:
    runtime.disabled = settings.disabled
    runtime.reset_tracer_cache()
    if settings.disabled:
        logger.debug("llmtrace: OTEL_SDK_DISABLED is set; tracing is off")
        return Tracing(settings, None, False, [])
    runtime.capture_content = settings.capture_content
    runtime.max_attribute_bytes = settings.max_attribute_bytes
    runtime.redact = settings.redact
    runtime.model_version = settings.model_version
    runtime.prompt_interop = settings.prompt_interop
    _configure_extensions(settings)

    provider, owns = choose_tracer_provider(settings)
    processors: list[SpanProcessor] = [ContextAttributesProcessor()]
    explicit_export = owns or settings.endpoint is not None or settings.exporter is not None
    if explicit_export:
        processors.extend(export_processors(settings, *_shutdown_limits(settings, None)))
    for processor in processors:
        provider.add_span_processor(processor)
    runtime.tracer_provider = provider
    runtime.reset_tracer_cache()
    meter_provider, owns_meter, prometheus = choose_meter_provider(settings)
    if meter_provider is not None:
        from ._genai import metrics

        metrics.configure(meter_provider)
    handle = Tracing(settings, provider, owns, processors, meter_provider, owns_meter)
    handle.prometheus = prometheus
    if owns:
        atexit.register(_exit_flush, handle)
    return handle


def _configure_extensions(settings: Settings) -> None:
    """Hand settings to the optional modules that need them (pricing, OpenAI hosts)."""
    from ._genai import providers

    providers.configure_hosts(settings.providers)
    if settings.prices is not None:
        from ._genai.pricing import load_price_overrides

        try:
            load_price_overrides(settings.prices)
        except ConfigurationError as exc:
            if settings.prices != os.environ.get("LLMTRACE_PRICES_FILE"):
                raise
            # From the environment: a deployment typo warns, as for every other variable.
            logger.warning("llmtrace: ignoring LLMTRACE_PRICES_FILE (%s); using the defaults", exc)
    if settings.openai_usage_hosts:
        from .instrumentation.openai import allow_usage_hosts

        allow_usage_hosts(settings.openai_usage_hosts)


def _instrumentor(name: str) -> Any:
    """The instrumentor registered as entry point ``llmtrace_<name>`` (a singleton)."""
    found = entry_points(group="opentelemetry_instrumentor", name=f"llmtrace_{name}")
    for entry_point in found:
        return entry_point.load()()
    raise LookupError(f"no opentelemetry_instrumentor entry point llmtrace_{name}")


def _installed(module: str) -> bool:
    """True when ``module`` is importable; a dotted name whose parent is missing is not."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # find_spec("google.genai") without any "google" package
        return False


def _instrument(handle: Tracing) -> None:
    if not handle.enabled:
        return
    wanted = handle.settings.instrument
    names = KNOWN_INSTRUMENTATIONS if wanted is None else wanted
    for name in names:
        if not _installed(INSTRUMENTATIONS[name]):
            if wanted is not None:
                logger.warning("llmtrace: cannot instrument %s: the package is not installed", name)
            continue
        done = attempt(_switch, switch_on, name)  # a failed patch must not stop the app
        if not isinstance(done, Failed):
            handle.instrumented.append(name)
        elif isinstance(done.error, ConfigurationError):
            raise done.error
        else:
            logger.warning("llmtrace: could not instrument %s", name, exc_info=done.error)


def _switch(switch: Callable[[Any], Any], name: str) -> None:
    switch(_instrumentor(name))


def _uninstrument(names: Sequence[str]) -> None:
    for name in names:
        done = attempt(_switch, switch_off, name)
        if isinstance(done, Failed):
            logger.warning("llmtrace: could not uninstrument %s", name, exc_info=done.error)
    if isinstance(names, list):
        names.clear()


def _exit_flush(handle: Tracing) -> None:
    """At interpreter exit: flush and stop within ``shutdown_timeout``, never raise."""
    done = attempt(handle.shutdown)  # a clean exit must not turn into a traceback
    if isinstance(done, Failed):
        logger.warning("llmtrace: flushing spans at exit failed", exc_info=done.error)


def active() -> Tracing | None:
    """The handle of the current setup, or None before ``init()``."""
    return _active


def shutdown(timeout: float | None = None) -> bool:
    """Flush and stop llmtrace's exporting; True when everything was exported in time."""
    handle = _active
    return handle.shutdown(timeout) if handle is not None else True


def force_flush(timeout: float | None = None) -> bool:
    """Export queued spans now; False when that did not finish within ``timeout`` seconds."""
    handle = _active
    return handle.force_flush(timeout) if handle is not None else True
