"""The one way a provider call ends on its span: tool calls, HTTP status, a stream's end."""

from __future__ import annotations

import pytest
from opentelemetry.trace import StatusCode

from llmtrace import semconv
from llmtrace._genai.ending import add_http_status, end_stream, set_tool_calls, status_code_of
from llmtrace._genai.lifecycle import LLMInvocation


class StatusError(Exception):
    def __init__(self, status_code: object) -> None:
        super().__init__("boom")
        self.status_code = status_code


def started(name: str) -> LLMInvocation:
    inv = LLMInvocation(operation=semconv.OP_CHAT, provider="openai", request_model=name)
    assert inv.start()
    return inv


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (StatusError(429), 429),
        (StatusError(True), None),
        (StatusError("500"), None),
        (OSError(), None),
    ],
)
def test_status_code_of_reads_only_an_integer_status(exc, code):
    assert status_code_of(exc) == code


def test_a_finished_stream_says_its_chunks_and_tool_calls(captured):
    inv = started("m1")
    set_tool_calls(inv, ["weather"])
    set_tool_calls(inv, [])  # none asked for: the earlier names stay
    end_stream(inv, 3, None, abandoned=False)
    span = captured.find("chat m1")
    assert span.attributes[semconv.LLMTRACE_STREAM_CHUNKS] == 3
    assert span.attributes[semconv.LLMTRACE_RESPONSE_TOOL_CALLS] == ("weather",)
    assert semconv.LLMTRACE_STREAM_ABANDONED not in span.attributes
    assert span.status.status_code is not StatusCode.ERROR


def test_a_failed_stream_has_the_http_status_and_ends_in_error(captured):
    inv = started("m2")
    end_stream(inv, 1, StatusError(503), abandoned=False)
    span = captured.find("chat m2")
    assert span.attributes[semconv.HTTP_RESPONSE_STATUS_CODE] == 503
    assert span.attributes[semconv.ERROR_TYPE] == "StatusError"
    assert span.status.status_code is StatusCode.ERROR


def test_an_abandoned_stream_is_marked_and_a_providers_error_details_are_used(captured):
    inv = started("m3")
    end_stream(inv, 0, None, abandoned=True)
    assert captured.find("chat m3").attributes[semconv.LLMTRACE_STREAM_ABANDONED] is True

    def details(record: LLMInvocation, exc: BaseException) -> None:
        record.attributes[semconv.AWS_REQUEST_ID] = "req-1"

    inv = started("m4")
    end_stream(inv, 2, StatusError(400), abandoned=False, error_details=details)
    attrs = captured.find("chat m4").attributes
    assert attrs[semconv.AWS_REQUEST_ID] == "req-1"
    assert semconv.HTTP_RESPONSE_STATUS_CODE not in attrs


def test_the_span_ends_even_when_error_details_fail(captured):
    def broken(record: LLMInvocation, exc: BaseException) -> None:
        raise RuntimeError("bug in a provider's error details")

    inv = started("m5")
    with pytest.raises(RuntimeError):
        end_stream(inv, 1, StatusError(500), abandoned=False, error_details=broken)
    assert captured.find("chat m5").status.status_code is StatusCode.ERROR


def test_add_http_status_skips_errors_without_one(captured):
    inv = started("m6")
    add_http_status(inv, TimeoutError())
    inv.stop()
    assert semconv.HTTP_RESPONSE_STATUS_CODE not in captured.find("chat m6").attributes
