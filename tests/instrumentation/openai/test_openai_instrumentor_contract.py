"""OpenTelemetry's instrumentor contract: tracer_provider and meter_provider passed to
instrument() receive the spans and metrics, with or without llmtrace.init()."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmtrace import semconv
from llmtrace.instrumentation.openai import OpenAIInstrumentor, uninstrument_openai
from tests.support import openai_bodies as bodies
from tests.support.openai_server import json_response, make_client


@pytest.fixture
def own_providers() -> Iterator[tuple[InMemorySpanExporter, InMemoryMetricReader, Any, Any]]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    uninstrument_openai()  # the autouse fixture's patch, which uses llmtrace's own setup
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(
        tracer_provider=tracer_provider, meter_provider=meter_provider, skip_dep_check=True
    )
    try:
        yield exporter, reader, tracer_provider, meter_provider
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


def test_spans_and_metrics_go_to_the_providers_given_to_instrument(own_providers):
    exporter, reader, _, _ = own_providers
    client, _ = make_client(json_response(bodies.chat()))
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
    )
    (span,) = exporter.get_finished_spans()
    assert span.name == "chat gpt-4o-mini"
    assert span.instrumentation_scope.name == "llmtrace"
    assert span.attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert {
        semconv.METRIC_INFERENCE_DURATION,
        semconv.METRIC_INFERENCE_INPUT_TOKENS,
    } <= metric_names(reader)


def test_given_providers_win_over_llmtrace_own_setup(own_providers, captured):
    exporter, _, _, _ = own_providers
    client, _ = make_client(json_response(bodies.chat()))
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
    )
    assert [s.name for s in exporter.get_finished_spans()] == ["chat gpt-4o-mini"]
    assert captured.spans == []
