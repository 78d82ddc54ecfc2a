"""End to end: evaluation scores and prompt links arrive in a real receiver (Arize Phoenix).

A score recorded while its span is open travels as a ``gen_ai.evaluation.result``
event on that span; a score recorded after the span ended (from a trace
reference) travels as its own small span in the same trace, parented to and
linked with the scored span. Phoenix is read back over its REST API.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import llmtrace
from llmtrace import semconv
from llmtrace._genai.lifecycle import LLMInvocation
from llmtrace._genai.tokens import Usage
from llmtrace._prompts import state as _prompt_state
from tests.support.phoenix_server import PROJECT_ATTRIBUTE, Phoenix, Span, find, unique_project

pytestmark = pytest.mark.e2e

QA = llmtrace.Prompt("qa", "Answer briefly: {question}", version="4")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Exporter settings come from the test only; no prompt link survives it."""
    for var in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_SDK_DISABLED",
        "LLMTRACE_EXPORTER",
    ):
        monkeypatch.delenv(var, raising=False)
    token = _prompt_state._STATE.set(None)
    yield
    _prompt_state._STATE.reset(token)


def call_model(question: str) -> str:
    invocation = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o-mini")
    invocation.start()
    invocation.usage = Usage(input_tokens=9, output_tokens=3)
    invocation.stop()
    return f"echo: {question}"


@llmtrace.trace(kind="workflow")
def answer(question: str) -> dict[str, object]:
    QA.format(question=question)
    text = call_model(question)
    # Checked while the span is open: lands on this span as an event.
    llmtrace.record_score("non_empty", 1, label="pass", source="code")
    return {"text": text, "trace": llmtrace.trace_reference()}


def results(span: Span) -> list[dict[str, object]]:
    return [e["attributes"] for e in span["events"] if e["name"] == "gen_ai.evaluation.result"]


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_scores_on_open_and_ended_spans_arrive(phoenix: Phoenix, protocol: str) -> None:
    project = unique_project("e2e-scores")
    llmtrace.init(
        endpoint=phoenix.grpc_endpoint if protocol == "grpc" else phoenix.http_endpoint,
        protocol=protocol,
        service_name="llmtrace-e2e-scores",
        resource_attributes={PROJECT_ATTRIBUTE: project},
        instrument=False,
        metrics=False,
    )
    reply = answer("What is OTLP?")
    # Later, e.g. a feedback endpoint handed the reference by the front end:
    assert llmtrace.record_score(
        "helpfulness",
        0.8,
        label="good",
        explanation="answers the question",
        reference=str(reply["trace"]),
        source="human",
    )
    assert llmtrace.shutdown(timeout=15), "llmtrace reports spans lost on the way to Phoenix"

    spans = phoenix.spans(project, min_count=3)
    scored = find(spans, "invoke_workflow answer")
    llm = find(spans, "chat gpt-4o-mini")
    feedback = find(spans, "evaluation helpfulness")

    [on_open] = results(scored)
    assert on_open[semconv.GEN_AI_EVALUATION_NAME] == "non_empty"
    assert on_open[semconv.GEN_AI_EVALUATION_SCORE_VALUE] == 1.0
    assert on_open[semconv.GEN_AI_EVALUATION_SCORE_LABEL] == "pass"
    assert on_open[semconv.LLMTRACE_EVALUATION_SOURCE] == "code"

    assert feedback["trace_id"] == scored["trace_id"]
    assert feedback["parent_span_id"] == scored["span_id"]
    attributes = feedback["attributes"]
    assert attributes[semconv.GEN_AI_EVALUATION_SCORE_VALUE] == 0.8
    assert attributes[semconv.GEN_AI_EVALUATION_EXPLANATION] == "answers the question"
    assert attributes[semconv.LLMTRACE_EVALUATION_TARGET] == scored["span_id"]
    assert results(feedback)[0][semconv.GEN_AI_EVALUATION_SCORE_LABEL] == "good"
    for link in feedback["links"]:  # Phoenix does not store links today; check them if it does
        assert scored["span_id"] in str(link)

    assert llm["attributes"][semconv.GEN_AI_PROMPT_NAME] == "qa"
    assert llm["attributes"][semconv.GEN_AI_PROMPT_VERSION] == "4"
    assert llm["attributes"][semconv.LLMTRACE_PROMPT_TEMPLATE_HASH] == QA.template_hash
