"""The instrumentor's contracts: the entry point, init()'s instrument names, the
tracer_provider and meter_provider given to instrument(), metrics, and the terminal tree."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmtrace
from llmtrace import semconv
from llmtrace._console import render_tree
from llmtrace.instrumentation.anthropic import (
    AnthropicInstrumentor,
    is_instrumented,
    uninstrument_anthropic,
)
from tests.support.anthropic_server import MODEL, message

HI = [{"role": "user", "content": "Hi"}]


def test_entry_point_is_llmtrace_anthropic():
    (found,) = entry_points(group="opentelemetry_instrumentor", name="llmtrace_anthropic")
    assert found.load() is AnthropicInstrumentor


def test_init_names_it_and_turns_it_on_by_default():
    uninstrument_anthropic()
    handle = llmtrace.init(exporter="none", console=False, metrics=False)
    assert "anthropic" in handle.instrumented
    assert is_instrumented()
    llmtrace.shutdown()
    assert not is_instrumented()
    handle = llmtrace.init(exporter="none", console=False, metrics=False, instrument=["anthropic"])
    assert handle.instrumented == ["anthropic"]


@pytest.fixture
def own_providers() -> Iterator[tuple[InMemorySpanExporter, InMemoryMetricReader]]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    uninstrument_anthropic()  # the autouse fixture's patch, which uses llmtrace's own setup
    instrumentor = AnthropicInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider, meter_provider=meter_provider, skip_dep_check=True
    )
    try:
        yield exporter, reader
    finally:
        instrumentor.uninstrument()


def metric_names(reader: InMemoryMetricReader) -> set[str]:
    data = reader.get_metrics_data()
    return {
        metric.name
        for resource in (data.resource_metrics if data else ())
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }


def test_spans_and_metrics_go_to_the_providers_given_to_instrument(server, own_providers, captured):
    exporter, reader = own_providers
    server.add(message())
    server.client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    (span,) = exporter.get_finished_spans()
    assert span.name == f"chat {MODEL}"
    assert span.instrumentation_scope.name == "llmtrace"
    assert {
        semconv.METRIC_INFERENCE_DURATION,
        semconv.METRIC_INFERENCE_INPUT_TOKENS,
        semconv.METRIC_COST,
    } <= metric_names(reader)
    assert captured.spans == []


def test_terminal_tree_shows_the_call_like_an_openai_one(server, captured):
    server.add(message())
    with llmtrace.span("answer"):
        server.client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    tree = render_tree(captured.spans)
    lines = tree.splitlines()
    assert lines[0].startswith("answer")
    llm_line: Any = lines[1]
    assert f"chat {MODEL}" in llm_line
    assert "→ claude-sonnet-4-5-20250929" in llm_line
    assert "in 12 · out 5 tok" in llm_line
    assert "$0.000111" in llm_line
