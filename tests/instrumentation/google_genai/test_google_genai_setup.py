"""Setup: init() turns the instrumentation on, instrument() honours the providers it is
given, budgets and prompts apply, and the terminal tree shows the calls."""

from __future__ import annotations

from collections.abc import Iterator
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
from llmtrace.instrumentation.google_genai import (
    GoogleGenAIInstrumentor,
    is_instrumented,
    uninstrument_google_genai,
)
from llmtrace.testing import SpanCapture
from tests.support.gemini_server import MODEL, GeminiServer, make_client, response, usage


def test_init_instruments_google_genai_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    uninstrument_google_genai()
    monkeypatch.delenv("LLMTRACE_INSTRUMENT", raising=False)
    handle = llmtrace.init(exporter="none", console=False)
    assert "google_genai" in handle.instrumented
    assert is_instrumented()
    llmtrace.shutdown()
    assert not is_instrumented()


def test_init_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    uninstrument_google_genai()
    monkeypatch.setenv("LLMTRACE_INSTRUMENT", "google_genai")
    handle = llmtrace.init(exporter="none", console=False)
    assert handle.instrumented == ["google_genai"]


@pytest.fixture
def own_providers() -> Iterator[tuple[InMemorySpanExporter, InMemoryMetricReader]]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    uninstrument_google_genai()  # the autouse fixture's patch uses llmtrace's own setup
    instrumentor = GoogleGenAIInstrumentor()
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


def test_spans_and_metrics_go_to_the_providers_given_to_instrument(
    server: GeminiServer, own_providers: Any, captured: SpanCapture
) -> None:
    exporter, reader = own_providers
    server.add(response(usage_metadata=usage()))
    make_client(server).models.generate_content(model=MODEL, contents="Hi")
    (span,) = exporter.get_finished_spans()
    assert span.name == f"generate_content {MODEL}"
    assert span.attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 8
    assert {
        semconv.METRIC_INFERENCE_DURATION,
        semconv.METRIC_INFERENCE_INPUT_TOKENS,
    } <= metric_names(reader)
    assert captured.spans == []


def test_spent_budget_raises_before_the_call(server: GeminiServer, captured: SpanCapture) -> None:
    server.add(response(usage_metadata=usage(100_000, 100_000)))
    client = make_client(server)
    with llmtrace.budget(max_usd=0.000001, on_exceed="raise"):
        client.models.generate_content(model=MODEL, contents="Hi")
        with pytest.raises(llmtrace.BudgetExceeded):
            client.models.generate_content(model=MODEL, contents="Hi")
    assert len(server.requests) == 1


def test_prompt_linkage(server: GeminiServer, captured: SpanCapture) -> None:
    server.add(response(usage_metadata=usage()))
    prompt = llmtrace.Prompt("greet", "Say hi to {name}", version="3")
    with llmtrace.use_prompt(prompt):
        make_client(server).models.generate_content(model=MODEL, contents=prompt.format(name="A"))
    attrs = captured.find(f"generate_content {MODEL}").attributes
    assert attrs[semconv.GEN_AI_PROMPT_NAME] == "greet"
    assert attrs[semconv.GEN_AI_PROMPT_VERSION] == "3"


def test_terminal_tree_shows_the_call(server: GeminiServer, captured: SpanCapture) -> None:
    server.add(response(usage_metadata=usage(812, 95), model_version=MODEL))
    with llmtrace.span("answer"):
        make_client(server).models.generate_content(model="gemini-flash-latest", contents="Hi")
    tree = render_tree(captured.spans)
    line = tree.splitlines()[1]
    assert "generate_content gemini-flash-latest" in line
    assert MODEL in line  # the model that answered, and was priced
    assert "in 812" in line and "out 95" in line
    assert "$" in line
