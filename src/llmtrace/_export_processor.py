"""The bounded batch export processor: batch export that never harms the app.

``ExportProcessor`` is llmtrace's batch exporter, used instead of the SDK's
``BatchSpanProcessor`` because an observability SDK inside someone else's
process must keep promises the SDK's does not::

    processor = ExportProcessor(exporter, max_queue_size=2048)
    provider.add_span_processor(processor)
    ...
    processor.force_flush(2000)   # honours its timeout (the SDK's ignores it)
    processor.stop(5.0)           # returns within the timeout even if the collector hangs

- Ending a span only appends it to a bounded queue: the app never waits for
  the network, whatever the collector does.
- A full queue drops the new span and counts it (``dropped``); losses are
  logged once when a burst starts (with a reminder a minute while it lasts)
  and summarised with the final count once the exporter has caught up (both
  warnings), never one line per span. The queue holds ``max_queue_size`` spans
  until an export succeeds; while exports succeed it takes bursts of up to
  ``HEALTHY_QUEUE_FACTOR`` times that, since the collector is draining it
  (one thread cannot encode OTLP as fast as a tight loop ends spans).
- ``stop()`` with a ``patience_s`` waits past its timeout while the collector
  is reachable and no export failed since the stop began (a healthy collector
  that is slow to accept its first spans), up to ``patience_s`` in total.
- Spans in batches the exporter gave up on are counted in ``failed``;
  ``exported`` counts the ones delivered. Every span that reaches the
  processor is in exactly one of ``exported``, ``failed``, ``dropped`` or
  still queued.
- After ``os.fork()`` the child gets a fresh queue and worker thread and,
  when the processor was given an ``exporter_factory``, a fresh exporter: the
  parent's pooled connections are never shared with the child.
- Each batch goes through ``encodable()`` (``_encodable.py``) first: a lone
  surrogate in one span's string never costs the whole batch.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence

from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ._encodable import encodable
from ._errors import Failed, attempt, internal_errors, logger
from ._loss_log import LossLog
from ._spool import Spool

# While exports succeed, the queue may hold this many times max_queue_size (see the module
# docstring); a collector that fails or has not answered yet gets max_queue_size.
HEALTHY_QUEUE_FACTOR = 16
# How often a patient stop() re-checks that the collector is still worth waiting for.
_PATIENCE_POLL_S = 0.1
_FORK_WAIT_S = 5.0  # longest fork() waits for a gRPC export in flight (a hung collector)
_REPLAY_INTERVAL_S = 5.0  # while the spool holds batches and the collector looks down


class ExportProcessor(SpanProcessor):
    """Batch export from a bounded queue, with counted, once-per-burst reporting of losses."""

    def __init__(
        self,
        exporter: SpanExporter,
        max_queue_size: int = 2048,
        *,
        schedule_delay_ms: int = 1000,
        max_batch_size: int = 512,
        shutdown_timeout_s: float = 5.0,
        exporter_factory: Callable[[], SpanExporter] | None = None,
        shutdown_patience_s: float | None = None,
        reachable: Callable[[], bool] | None = None,
        spool: Spool | None = None,
        quiesce_on_fork: bool = False,
    ) -> None:
        self.exporter = exporter
        # gRPC (unlike HTTP) cannot fork while a thread is inside a call: fork() waits
        # (bounded) for the export in flight, and none starts until the fork is done.
        self._quiesce_on_fork = quiesce_on_fork
        self._export_gate = threading.Lock()
        self._gate_held_for_fork = False
        # Opt-in (init(spool_dir=...)): failed and left-over batches go to disk, not away.
        self._spool = spool
        self.spooled = 0
        self._replay_at = 0.0
        self._batch: Sequence[ReadableSpan] = ()
        self._batch_spooled: Sequence[ReadableSpan] = ()
        self._factory = exporter_factory
        self._max_queue_size = max(1, max_queue_size)
        self._batch_size = max(1, min(max_batch_size, self._max_queue_size))
        self._delay_s = schedule_delay_ms / 1000
        self._shutdown_timeout_s = shutdown_timeout_s
        self._shutdown_patience_s = shutdown_patience_s
        self._reachable = reachable
        self._queue: deque[ReadableSpan] = deque()
        # The queue limit in effect: max_queue_size until an export succeeds (see _export).
        self._limit = self._max_queue_size
        self._drops = LossLog(
            "llmtrace: export queue full (max_queue_size=" + str(self._max_queue_size) + "): "
            "dropping new spans (%d so far)%s. The final count is logged when the exporter "
            "catches up",
            "llmtrace: export queue has room again; %d span(s) were dropped while it was full "
            "(%d in total)",
            logging.WARNING,
        )
        self._failures = LossLog(
            "llmtrace: exporting a batch of %d span(s) failed%s; spans are lost until exports "
            "succeed again (the exporter logs the reason)",
            "llmtrace: exports succeed again; %d span(s) were lost while they failed (%d in total)",
        )
        self.exported = 0
        self._stop_called: bool
        self._failed_before_stop: int
        self._lost_before_stop: int
        self._init_state()
        self._stopping = False
        self._abandon = False
        self._start_worker()
        _register_fork_hook(self)

    # -- counters -------------------------------------------------------------------
    @property
    def dropped(self) -> int:
        """Spans dropped unexported: queue full, or still queued when stop() timed out."""
        return self._drops.total

    @property
    def failed(self) -> int:
        """Spans in batches the exporter reported as failed (after its own retries)."""
        return self._failures.total

    @property
    def queued(self) -> int:
        """Spans waiting in the queue (at most ``max_queue_size`` while the collector fails,
        ``HEALTHY_QUEUE_FACTOR`` times that while exports succeed)."""
        return len(self._queue)

    @property
    def sending(self) -> int:
        """Spans in the batch being exported right now (at most one batch)."""
        return self._in_flight

    # -- SpanProcessor ---------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None or not context.trace_flags.sampled or self._stopping:
            return
        if self._pid != os.getpid():
            self._after_fork()
        with self._lock:
            full = len(self._queue) >= self._limit
            if not full:
                self._queue.append(span)
                size = len(self._queue)
        if full:
            self._drops.add(1, self._drop_reason())
            return
        if size >= self._batch_size:
            self._wake.set()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export what is queued now; False if that took longer than the timeout or failed."""
        if self._pid != os.getpid():
            self._after_fork()
        done = threading.Event()
        with self._lock:
            # A burst of drops still open: let the worker log its final count first.
            if not self._queue and not self._in_flight and not self._drops.in_burst:
                return True
            if self._stopping and not self._worker.is_alive():
                return False
            lost_before = self._failures.total + self.spooled
            self._flush_waiters.append(done)
            self._wake.set()
        finished = done.wait(max(0.0, timeout_millis / 1000))
        return finished and self._failures.total + self.spooled == lost_before

    def shutdown(self) -> None:
        self.stop(self._shutdown_timeout_s, self._shutdown_patience_s)

    def begin_stop(self) -> None:
        """Start exporting what is queued and stop taking spans, without waiting."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            self._failed_before_stop = self._failures.total
            self._lost_before_stop = self._failures.total + self.spooled
            self._wake.set()

    def stop(self, timeout_s: float, patience_s: float | None = None) -> bool:
        """Export what is queued and stop, within ``timeout_s``; True if nothing was lost.

        With ``patience_s``, keep waiting past ``timeout_s`` while the collector is worth
        waiting for (reachable, no export failed since the stop began), up to ``patience_s``
        in total.
        """
        with self._lock:
            if self._stopping and self._stop_called:
                return not self._queue and not self._in_flight
            self._stop_called = True
        started = time.monotonic()
        self.begin_stop()
        failed_before = self._failed_before_stop
        lost_before = self._lost_before_stop
        self._worker.join(max(0.0, timeout_s))
        if patience_s is not None and patience_s > timeout_s and self._worker.is_alive():
            self._wait_while_worth_it(started + patience_s, failed_before)
        complete = not self._worker.is_alive()
        if not complete:
            with self._lock:
                self._abandon = True
                left, sending = len(self._queue), self._in_flight
                remaining = [*self._queue, *(self._batch if sending else ())]
                self._queue.clear()
            if self._spool is not None:
                self._spool_at_stop(remaining, timeout_s)
            else:
                self._drops.count(left)
                logger.warning(
                    "llmtrace: shutdown timed out after %.1f s: %d queued span(s) dropped, "
                    "%d still being sent (collector unreachable or too slow?)",
                    time.monotonic() - started,
                    left,
                    sending,
                )
        closed = attempt(self.exporter.shutdown)  # a failure to close must not reach the app
        if isinstance(closed, Failed):
            logger.warning("llmtrace: the span exporter failed to shut down", exc_info=closed.error)
        return complete and self._failures.total + self.spooled == lost_before

    def _wait_while_worth_it(self, until: float, failed_before: int) -> None:
        """Past the stop timeout: wait while the collector is reachable and not failing."""
        if self._reachable is not None:
            with internal_errors:
                if not self._reachable():
                    return
        while self._worker.is_alive() and self._failures.total == failed_before:
            left = until - time.monotonic()
            if left <= 0:
                return
            self._worker.join(min(_PATIENCE_POLL_S, left))

    def _drop_reason(self) -> str:
        if self._limit > self._max_queue_size:
            return (
                " because spans end faster than one export thread can send them to the "
                f"collector (raise max_queue_size for bursts over {self._limit} spans)"
            )
        return " while the collector fails or has not answered yet (is it reachable?)"

    # -- worker ----------------------------------------------------------------------
    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._flush_waiters: list[threading.Event] = []
        self._in_flight = 0
        self._pid = os.getpid()
        self._replace_exporter = False
        self._stop_called = False
        self._failed_before_stop = 0
        self._lost_before_stop = 0

    def _start_worker(self) -> None:
        self._worker = threading.Thread(target=self._run, name="llmtrace-export", daemon=True)
        self._worker.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._delay_s)
            with self._lock:
                self._wake.clear()
                waiters, self._flush_waiters = self._flush_waiters, []
                stopping = self._stopping
            try:
                with internal_errors:  # one bad batch must not stop all exports
                    self._export_queued()
                    if self._spool is not None:
                        self._replay_spool()
            finally:
                for waiter in waiters:
                    waiter.set()
            if stopping:
                return

    def _export_queued(self) -> None:
        while True:
            with self._lock:
                if self._abandon or not self._queue:
                    caught_up = not self._queue
                    break
                count = min(self._batch_size, len(self._queue))
                batch = [self._queue.popleft() for _ in range(count)]
                self._in_flight = count
                self._batch = batch
            try:
                self._export(batch)
            finally:
                with self._lock:
                    self._in_flight = 0
        # A burst of drops ends when the exporter has emptied the queue, not at the first
        # free slot: an exporter that is merely too slow then logs one line, not one a batch.
        if caught_up and self._drops.in_burst:
            self._drops.end()

    def _export(self, batch: Sequence[ReadableSpan]) -> None:
        if self._replace_exporter and self._factory is not None:
            self._replace_exporter = False
            with internal_errors:
                self.exporter = self._factory()
        with internal_errors:
            batch = encodable(batch)
        with suppress_instrumentation(), self._export_gate:
            result = attempt(self.exporter.export, batch)
        if result is SpanExportResult.SUCCESS:
            self.exported += len(batch)
            self._limit = self._max_queue_size * HEALTHY_QUEUE_FACTOR
            self._replay_at = 0.0  # the collector is back: send the spool now
            if self._failures.in_burst:
                self._failures.end()
            return
        self._limit = self._max_queue_size
        # The collector looks down: replaying the spool now would only fail again (and hold
        # a claimed batch when the app exits); try again after the interval.
        self._replay_at = time.monotonic() + _REPLAY_INTERVAL_S
        if self._to_spool(batch):
            return
        if isinstance(result, Failed):  # a broken exporter loses the batch, not the app
            exc = result.error
            self._failures.add(len(batch), f" ({type(exc).__qualname__})", exc)
        else:
            self._failures.add(len(batch))

    # -- spool (opt-in) ----------------------------------------------------------------
    def _to_spool(self, batch: Sequence[ReadableSpan]) -> bool:
        """Write a batch the exporter gave up on to the spool; False when there is none."""
        if self._spool is None:
            return False
        if batch is self._batch_spooled:  # already written by stop() when it timed out
            return True
        with internal_errors:
            self._drops.count(self._spool.put(batch))
            self.spooled += len(batch)
            return True
        return False

    def _spool_at_stop(self, spans: list[ReadableSpan], timeout_s: float) -> None:
        """stop() ran out of time (collector down): what is left goes to the spool."""
        self._batch_spooled = self._batch
        if self._to_spool(spans):
            logger.warning(
                "llmtrace: shutdown timed out after %.1f s: %d span(s) written to the spool "
                "%s, to be sent when the collector is back",
                timeout_s,
                len(spans),
                self._spool.directory if self._spool is not None else "",
            )

    def _replay_spool(self) -> None:
        """Send spooled batches: at start, after a successful export, else every few seconds."""
        spool = self._spool
        now = time.monotonic()
        if spool is None or self._abandon or now < self._replay_at:
            return
        self._replay_at = now + _REPLAY_INTERVAL_S
        if not spool.pending():
            return
        with suppress_instrumentation():
            sent, _ = spool.replay(self._gated_export)
        self.exported += sent

    def _gated_export(self, batch: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._export_gate:
            return self.exporter.export(batch)

    # -- fork ------------------------------------------------------------------------
    def _before_fork(self) -> None:
        """In the parent, just before fork(): let the export in flight finish (bounded)."""
        if self._quiesce_on_fork and self._pid == os.getpid():
            self._gate_held_for_fork = self._export_gate.acquire(timeout=_FORK_WAIT_S)

    def _after_fork_in_parent(self) -> None:
        if self._gate_held_for_fork:
            self._gate_held_for_fork = False
            self._export_gate.release()

    def _after_fork(self) -> None:
        """In a forked child: fresh lock, queue, counters, worker and (if possible) exporter."""
        if self._pid == os.getpid():
            return
        self._export_gate = threading.Lock()
        self._gate_held_for_fork = False
        self._init_state()
        self._queue.clear()
        self._drops.reset()
        self._failures.reset()
        self.exported = 0
        self._abandon = False
        self._replace_exporter = self._factory is not None
        if self._spool is not None:
            self._spool.after_fork()
        if not self._stopping:
            self._start_worker()


def _register_fork_hook(processor: ExportProcessor) -> None:
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.ref(processor)

    def before() -> None:
        alive = ref()
        if alive is not None:
            alive._before_fork()

    def after_in_parent() -> None:
        alive = ref()
        if alive is not None:
            alive._after_fork_in_parent()

    def after_in_child() -> None:
        alive = ref()
        if alive is not None:
            alive._after_fork()

    os.register_at_fork(
        before=before, after_in_parent=after_in_parent, after_in_child=after_in_child
    )
