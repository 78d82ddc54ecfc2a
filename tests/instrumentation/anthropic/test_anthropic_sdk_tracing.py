"""One LLM span per call although anthropic 2.x has OpenTelemetry tracing of its own: it
writes an ``anthropic.messages.create`` span to the global tracer provider (which
``init()`` installs). llmtrace keeps it out through the SDK's documented switch."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmtrace
from llmtrace import semconv
from llmtrace.instrumentation.anthropic import _sdk_tracing
from tests.support.anthropic_server import MODEL, message, text_stream_events

HI = [{"role": "user", "content": "Hi"}]
SDK_SPAN = "anthropic.messages.create"


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    """llmtrace.init() with its global provider exporting to memory (as in an application)."""
    exporter = InMemorySpanExporter()
    llmtrace.init(exporter=exporter, console=False, instrument=["anthropic"], metrics=False)
    yield exporter


def finished(exporter: InMemorySpanExporter) -> list:
    llmtrace.force_flush()
    return list(exporter.get_finished_spans())


def llm_spans(spans: list) -> list:
    return [s for s in spans if (s.attributes or {}).get(semconv.GEN_AI_OPERATION_NAME)]


def test_one_llm_span_per_call_with_init(server, exported):
    server.add(message()).add(events=text_stream_events())
    client = server.client()
    client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    with client.messages.stream(model=MODEL, max_tokens=10, messages=HI) as stream:
        stream.until_done()
    spans = finished(exported)
    assert [s.name for s in spans] == [f"chat {MODEL}", f"chat {MODEL}"]
    assert {s.instrumentation_scope.name for s in spans} == {"llmtrace"}
    assert len(llm_spans(spans)) == 2


def test_the_sdk_really_traces_on_its_own_without_llmtrace(server, exported):
    # The control for the test above: with llmtrace's patch off, the SDK's span appears.
    llmtrace.uninstrument_anthropic()
    assert os.environ.get(_sdk_tracing.ENV) is None
    server.add(message())
    server.client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    (span,) = finished(exported)
    assert span.name == SDK_SPAN
    assert span.attributes[semconv.GEN_AI_OPERATION_NAME] == "chat"


def test_a_client_that_asks_for_the_sdk_spans_keeps_them_beneath_llmtrace(server, exported):
    server.add(message())
    client = server.client(open_telemetry={"traces": True})
    client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    spans = {s.name: s for s in finished(exported)}
    ours, sdk = spans[f"chat {MODEL}"], spans[SDK_SPAN]
    assert sdk.parent.span_id == ours.context.span_id
    assert semconv.GEN_AI_USAGE_COST_AMOUNT in ours.attributes
    assert semconv.GEN_AI_USAGE_COST_AMOUNT not in sdk.attributes


def test_the_applications_own_setting_is_left_alone(monkeypatch):
    llmtrace.uninstrument_anthropic()
    monkeypatch.setenv(_sdk_tracing.ENV, "true")
    llmtrace.instrument_anthropic()
    assert os.environ[_sdk_tracing.ENV] == "true"
    llmtrace.uninstrument_anthropic()
    assert os.environ[_sdk_tracing.ENV] == "true"


def test_instrument_sets_and_uninstrument_removes_the_switch():
    assert os.environ.get(_sdk_tracing.ENV) == "false"
    llmtrace.uninstrument_anthropic()
    assert _sdk_tracing.ENV not in os.environ
