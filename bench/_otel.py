"""The OpenTelemetry setup every benchmark variant shares: SDK provider, counting no-op export.

    baseline = plain_provider()            # what the hand-written floors use
    handle = install_llmtrace()            # llmtrace.init() on its own identical provider
    ...
    assert handle.exporter.count == expected_spans   # nothing dropped silently

Both providers end in ``SimpleSpanProcessor(CountingExporter())``, so the span
work after ``end()`` is identical; only the instrumentation differs. llmtrace's
provider goes through ``llmtrace.init(tracer_provider=...)`` so it carries the
processors ``init()`` installs (session attributes), a cost every user pays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult


class CountingExporter(SpanExporter):
    """Counts the spans it is given and keeps the last: export costs next to nothing."""

    def __init__(self) -> None:
        self.count = 0
        self.last: ReadableSpan | None = None  # to compare what the variants record

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.count += len(spans)
        self.last = spans[-1]
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@dataclass
class Setup:
    provider: TracerProvider
    exporter: CountingExporter


def plain_provider() -> Setup:
    """An SDK TracerProvider with a SimpleSpanProcessor into a CountingExporter."""
    exporter = CountingExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Setup(provider, exporter)


def install_llmtrace(*, max_attribute_bytes: int | None = None) -> Setup:
    """``llmtrace.init()`` onto a fresh plain provider (no console, no export, no patches)."""
    import llmtrace

    setup = plain_provider()
    llmtrace.init(
        tracer_provider=setup.provider,
        console=False,
        instrument=False,
        metrics=False,
        max_attribute_bytes=max_attribute_bytes,
    )
    return setup


def uninstall_llmtrace() -> None:
    import llmtrace

    llmtrace.shutdown(timeout=2)
