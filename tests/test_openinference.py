"""With the interop switch on, Phoenix sees span kinds and input/output (#17 item 8)."""

from __future__ import annotations

import json

import pytest

import llmtrace
from llmtrace import semconv
from llmtrace._runtime import runtime
from llmtrace.testing import SpanCapture

KIND = semconv.OPENINFERENCE_SPAN_KIND


@pytest.fixture
def interop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "prompt_interop", True)


@llmtrace.trace(kind="tool")
def lookup(order: str) -> str:
    return f"{order}: shipped"


@llmtrace.trace(kind="workflow")
def support(question: str) -> str:
    return lookup("o-1") + " / " + question


def test_workflow_and_tool_spans_carry_openinference_kind_input_and_output(
    captured_content: SpanCapture, interop: None
) -> None:
    result = support("Where is my order?")

    root = dict(captured_content.find("invoke_workflow support").attributes or {})
    assert root[KIND] == "CHAIN"
    assert json.loads(root[semconv.OPENINFERENCE_INPUT_VALUE]) == {"question": "Where is my order?"}
    assert root[semconv.OPENINFERENCE_INPUT_MIME_TYPE] == "application/json"
    assert json.loads(root[semconv.OPENINFERENCE_OUTPUT_VALUE]) == result
    assert root[semconv.OPENINFERENCE_OUTPUT_MIME_TYPE] == "application/json"
    tool = dict(captured_content.find("execute_tool lookup").attributes or {})
    assert tool[KIND] == "TOOL"
    assert json.loads(tool[semconv.OPENINFERENCE_OUTPUT_VALUE]) == "o-1: shipped"


def test_without_content_capture_only_the_kind_is_written(
    captured: SpanCapture, interop: None
) -> None:
    with llmtrace.span("rank", kind="retriever"):
        pass
    attributes = dict(captured.find("rank").attributes or {})
    assert attributes[KIND] == "RETRIEVER"
    assert semconv.OPENINFERENCE_INPUT_VALUE not in attributes
    assert semconv.OPENINFERENCE_OUTPUT_VALUE not in attributes


def test_an_evaluation_span_is_an_evaluator_with_its_score_as_output(
    captured: SpanCapture, interop: None
) -> None:
    with llmtrace.span("answer", kind="workflow") as span:
        pass
    assert llmtrace.record_score("helpfulness", 0.8, label="good", span=span)

    evaluation = dict(captured.find("evaluation helpfulness").attributes or {})
    assert evaluation[KIND] == "EVALUATOR"
    assert json.loads(evaluation[semconv.OPENINFERENCE_OUTPUT_VALUE]) == {
        "name": "helpfulness",
        "score": 0.8,
        "label": "good",
    }


def test_off_by_default(captured_content: SpanCapture) -> None:
    support("Hi")
    for span in captured_content.spans:
        assert KIND not in (span.attributes or {})
        assert semconv.OPENINFERENCE_INPUT_VALUE not in (span.attributes or {})
