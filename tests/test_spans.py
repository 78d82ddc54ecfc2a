"""llmtrace.span(): manual spans for blocks of code, sync and async."""

from __future__ import annotations

import json

import pytest
from opentelemetry.trace import StatusCode

import llmtrace
from llmtrace.testing import SpanCapture


def test_span_records_input_output_and_attributes(captured_content: SpanCapture) -> None:
    with llmtrace.span("rank", kind="task", attributes={"k": 5}) as s:
        s.set_input(["a", "b"])
        s.set_attribute("candidates", 2)
        s.set_attribute("scores", {"a": 0.5})
        s.set_output("a")
    span = captured_content.find("rank")
    assert span.attributes["k"] == 5
    assert span.attributes["candidates"] == 2
    assert json.loads(span.attributes["scores"]) == {"a": 0.5}
    assert json.loads(span.attributes["llmtrace.input"]) == ["a", "b"]
    assert json.loads(span.attributes["llmtrace.output"]) == "a"


def test_span_content_respects_the_capture_setting(captured: SpanCapture) -> None:
    with llmtrace.span("quiet") as s:
        s.set_input("private")
    assert "llmtrace.input" not in captured.find("quiet").attributes
    with llmtrace.span("loud", capture_content=True) as s:
        s.set_input("shared")
    assert captured.find("loud").attributes["llmtrace.input"] == '"shared"'


def test_exception_in_block_is_recorded_and_propagates(captured: SpanCapture) -> None:
    error = ValueError("bad")
    with pytest.raises(ValueError) as raised, llmtrace.span("step"):
        raise error
    assert raised.value is error
    span = captured.find("step")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ValueError"


def test_record_exception_marks_error_without_ending(captured: SpanCapture) -> None:
    with llmtrace.span("handled") as s:
        s.record_exception(TimeoutError("retrying"))
        s.set_attribute("after", True)
    span = captured.find("handled")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["after"] is True


async def test_async_with(captured: SpanCapture) -> None:
    async with llmtrace.span("fetch", kind="tool") as outer:
        assert outer.is_recording
        with llmtrace.span("parse"):
            pass
    root = captured.find("execute_tool fetch")
    assert [c.name for c in captured.children(root)] == ["parse"]


def test_span_is_current_inside_the_block(captured: SpanCapture) -> None:
    @llmtrace.trace(name="inner")
    def inner() -> None:
        return None

    with llmtrace.span("outer") as s:
        inner()
        context = s.span_context
    assert captured.find("inner").parent.span_id == context.span_id


def test_without_tracing_the_handle_still_works() -> None:
    with llmtrace.span("nothing") as s:
        s.set_input("x")
        s.set_output("y")
        s.set_attribute("k", 1)
        s.record_exception(RuntimeError())
        assert not s.is_recording
