"""Capture llmtrace spans in memory, for your own tests.

    from llmtrace.testing import capture_spans

    def test_answer_is_traced():
        with capture_spans(capture_content=True) as captured:
            answer("What is OTLP?")
        span = captured.find("answer")
        assert span.attributes["llmtrace.output"] == '"A protocol."'
        assert captured.children(span)[0].name == "chat gpt-4o-mini"

Inside the block, every span llmtrace makes (decorators, ``span()``,
auto-instrumentations) goes to an in-memory exporter instead of the
configured one; the previous setup is restored on exit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Sampler

from ._console import render_tree
from ._genai.metrics import MetricCapture, capture_metrics
from ._runtime import runtime
from ._session_processor import ContextAttributesProcessor

__all__ = ["MetricCapture", "SpanCapture", "capture_metrics", "capture_spans"]


class SpanCapture:
    """The spans finished inside ``capture_spans()``, with helpers to inspect them."""

    def __init__(self, exporter: InMemorySpanExporter, provider: TracerProvider) -> None:
        self.exporter = exporter
        self.tracer_provider = provider

    @property
    def spans(self) -> list[ReadableSpan]:
        """Finished spans, in the order they ended."""
        return list(self.exporter.get_finished_spans())

    def names(self) -> list[str]:
        return [s.name for s in self.spans]

    def by_name(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name == name]

    def find(self, name: str) -> ReadableSpan:
        """The one span called ``name``; AssertionError if there is none or several."""
        found = self.by_name(name)
        if len(found) != 1:
            raise AssertionError(
                f"expected one span named {name!r}, found {len(found)}: {self.names()}"
            )
        return found[0]

    def roots(self) -> list[ReadableSpan]:
        return [s for s in self.spans if s.parent is None]

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        parent_id = parent.context.span_id if parent.context else None
        kids = [s for s in self.spans if s.parent is not None and s.parent.span_id == parent_id]
        return sorted(kids, key=lambda s: s.start_time or 0)

    def parent_of(self, span: ReadableSpan) -> ReadableSpan | None:
        if span.parent is None:
            return None
        return next(
            (s for s in self.spans if s.context and s.context.span_id == span.parent.span_id), None
        )

    def tree(self) -> str:
        """The captured spans as the terminal tree (without colours)."""
        return render_tree(self.spans, color=False)

    def clear(self) -> None:
        self.exporter.clear()


@contextmanager
def capture_spans(
    *,
    capture_content: bool | None = None,
    sampler: Sampler | None = None,
    extra_processors: Sequence[object] = (),
) -> Iterator[SpanCapture]:
    """Send llmtrace's spans to memory for the duration of the block."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler, shutdown_on_exit=False)
    provider.add_span_processor(ContextAttributesProcessor())
    for processor in extra_processors:
        provider.add_span_processor(processor)  # type: ignore[arg-type]
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    saved = (runtime.tracer_provider, runtime.capture_content, runtime.disabled)
    runtime.tracer_provider = provider
    runtime.disabled = False
    if capture_content is not None:
        runtime.capture_content = capture_content
    runtime.reset_tracer_cache()
    try:
        yield SpanCapture(exporter, provider)
    finally:
        runtime.tracer_provider, runtime.capture_content, runtime.disabled = saved
        runtime.reset_tracer_cache()
        provider.shutdown()
