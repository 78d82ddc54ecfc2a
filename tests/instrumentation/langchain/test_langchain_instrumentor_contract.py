"""LangChainInstrumentor honours the tracer_provider and meter_provider given to instrument()."""

from __future__ import annotations

from langchain_core.prompts import ChatPromptTemplate
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmtrace import semconv
from llmtrace.instrumentation.langchain import LangChainInstrumentor, uninstrument_langchain
from tests.support.langchain_helpers import fake_chat


def test_chain_and_llm_spans_and_metrics_go_to_the_given_providers():
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    uninstrument_langchain()
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | fake_chat()
        chain.invoke({"q": "Hi"})
    finally:
        instrumentor.uninstrument()
    names = {span.name for span in exporter.get_finished_spans()}
    assert any(name.startswith("chat") for name in names), names
    assert len(names) >= 2  # the chain and its model call
    data = reader.get_metrics_data()
    recorded = {
        metric.name
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert semconv.METRIC_INFERENCE_DURATION in recorded
