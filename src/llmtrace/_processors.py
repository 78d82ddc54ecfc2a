"""Span processors init() installs: session attributes, and batch export that never harms the app.

``ContextAttributesProcessor`` stamps the ``session()`` scope on every span.
``ExportProcessor`` wraps the SDK's BatchSpanProcessor: its queue is bounded,
and spans dropped because the queue is full are counted and reported in one
log line per burst instead of one line per span.
"""

from __future__ import annotations

import logging
import threading
import time

from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from ._errors import internal_errors, logger
from .context import SCOPE_KEY, BAGGAGE_KEYS

_DROP_REPORT_INTERVAL_S = 10.0


class ContextAttributesProcessor(SpanProcessor):
    """Puts the session scope (or session baggage from upstream) on every span at start.

    A span processor rather than code in our wrappers, so that spans from every
    instrumentation, ours and others', carry the session.
    """

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        with internal_errors:
            ctx = parent_context if parent_context is not None else otel_context.get_current()
            scope = ctx.get(SCOPE_KEY)
            if scope is not None:
                span.set_attributes(scope.attributes)
                return
            entries = baggage.get_all(ctx)
            if entries:
                for key in BAGGAGE_KEYS:
                    value = entries.get(key)
                    if value is not None:
                        span.set_attribute(key, str(value))

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class _QueueFullFilter(logging.Filter):
    """Silences the SDK's per-span "Queue full" warning; ExportProcessor reports drops itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Queue full, dropping")


_sdk_filter_installed = False


def _install_sdk_log_filter() -> None:
    global _sdk_filter_installed
    if not _sdk_filter_installed:
        logging.getLogger("opentelemetry.sdk._shared_internal").addFilter(_QueueFullFilter())
        _sdk_filter_installed = True


class ExportProcessor(SpanProcessor):
    """Batch export with a bounded queue and counted, rate-limited reporting of drops."""

    def __init__(
        self,
        exporter: SpanExporter,
        max_queue_size: int,
        export_timeout_s: float,
        schedule_delay_ms: int = 1000,
    ) -> None:
        _install_sdk_log_filter()
        self.exporter = exporter
        self._max_queue_size = max_queue_size
        self._batch = BatchSpanProcessor(
            exporter,
            max_queue_size=max_queue_size,
            schedule_delay_millis=schedule_delay_ms,
            max_export_batch_size=min(512, max_queue_size),
            export_timeout_millis=int(export_timeout_s * 1000),
        )
        self._queue = getattr(getattr(self._batch, "_batch_processor", None), "_queue", None)
        self.dropped = 0
        self._unreported = 0
        self._last_report = 0.0
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        queue = self._queue
        if queue is not None and len(queue) >= self._max_queue_size:
            self._count_drop()
        self._batch.on_end(span)

    def _count_drop(self) -> None:
        with self._lock:
            self.dropped += 1
            self._unreported += 1
            now = time.monotonic()
            if now - self._last_report < _DROP_REPORT_INTERVAL_S:
                return
            count, self._unreported, self._last_report = self._unreported, 0, now
        logger.warning(
            "llmtrace: export queue full (max_queue_size=%d); dropped %d span(s) "
            "(%d in total). Is the collector reachable?",
            self._max_queue_size,
            count,
            self.dropped,
        )

    def shutdown(self) -> None:
        self._batch.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._batch.force_flush(timeout_millis)
