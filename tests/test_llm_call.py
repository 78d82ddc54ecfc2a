"""Manual LLM spans: llmtrace.llm_call(...) with record_usage / record_response / content."""

from __future__ import annotations

import json

import pytest
from openai.types import CompletionUsage
from openai.types.completion_usage import PromptTokensDetails
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, StatusCode

import llmtrace
from llmtrace import semconv
from llmtrace._genai import pricing
from llmtrace._genai.tokens import Usage, count_tokens
from llmtrace.testing import SpanCapture


def test_attributes_of_a_recorded_call(captured: SpanCapture) -> None:
    with llmtrace.llm_call(
        "gpt-4o",
        provider="openai",
        temperature=0.2,
        max_tokens=256,
        stop="END",
        n=1,
        seed=7,
        server_address="api.openai.com",
        server_port=443,
    ) as call:
        call.record_response(model="gpt-4o-2024-08-06", finish_reason="stop", response_id="r-1")
        call.record_usage(input_tokens=2_000, output_tokens=500, cached_input_tokens=1_000)
    span = captured.find("chat gpt-4o")
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    attributes = dict(span.attributes or {})
    assert attributes[semconv.GEN_AI_OPERATION_NAME] == "chat"
    assert attributes[semconv.GEN_AI_PROVIDER_NAME] == "openai"
    assert attributes[semconv.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert attributes[semconv.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert attributes[semconv.GEN_AI_REQUEST_MAX_TOKENS] == 256
    assert attributes[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert attributes[semconv.GEN_AI_REQUEST_CHOICE_COUNT] == 1
    assert attributes[semconv.GEN_AI_REQUEST_SEED] == 7
    assert attributes[semconv.SERVER_ADDRESS] == "api.openai.com"
    assert attributes[semconv.SERVER_PORT] == 443
    assert attributes[semconv.GEN_AI_RESPONSE_MODEL] == "gpt-4o-2024-08-06"
    assert attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attributes[semconv.GEN_AI_RESPONSE_ID] == "r-1"
    assert attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 2_000
    assert attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 500
    assert attributes[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1_000
    # gpt-4o: $2.50 input, $1.25 cached input, $10 output per 1M tokens
    assert attributes[semconv.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(
        (1_000 * 2.5 + 1_000 * 1.25 + 500 * 10) / 1e6
    )
    assert semconv.LLMTRACE_USAGE_ESTIMATED not in attributes
    assert semconv.GEN_AI_INPUT_MESSAGES not in attributes


def test_the_handle_exposes_usage_and_cost() -> None:
    with (
        llmtrace.testing.capture_spans(),
        llmtrace.llm_call("gpt-4o-mini", provider="openai") as call,
    ):
        call.record_usage(input_tokens=1_000_000, output_tokens=0)
    assert call.usage == Usage(input_tokens=1_000_000, output_tokens=0)
    assert call.cost is not None and call.cost.total == pytest.approx(0.15)


def test_content_is_kept_only_with_capture_on(
    captured: SpanCapture,
) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.set_input_messages([{"role": "user", "content": "secret question"}])
        call.record_output("secret answer")
        call.record_usage(input_tokens=5, output_tokens=2)
    attributes = captured.find("chat gpt-4o").attributes or {}
    assert not any("secret" in str(value) for value in attributes.values())


def test_content_with_capture_on(captured_content: SpanCapture) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.set_input_messages(
            [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "What is OTLP?"}]},
            ]
        )
        call.record_response(finish_reason="stop")
        call.record_output("A protocol.")
        call.record_usage(input_tokens=20, output_tokens=3)
    attributes = captured_content.find("chat gpt-4o").attributes or {}
    assert json.loads(str(attributes[semconv.GEN_AI_INPUT_MESSAGES])) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "What is OTLP?"}]},
    ]
    assert json.loads(str(attributes[semconv.GEN_AI_OUTPUT_MESSAGES])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "A protocol."}],
            "finish_reason": "stop",
        }
    ]


def test_tool_calls_in_messages(captured_content: SpanCapture) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.set_input_messages(
            [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "-3 C"},
            ]
        )
        call.record_usage(input_tokens=30, output_tokens=0)
    messages = json.loads(
        str((captured_content.find("chat gpt-4o").attributes or {})[semconv.GEN_AI_INPUT_MESSAGES])
    )
    assert messages == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "weather",
                    "arguments": '{"city": "Oslo"}',
                }
            ],
        },
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "call_1", "response": "-3 C"}],
        },
    ]


def test_usage_is_estimated_when_none_is_recorded(captured: SpanCapture) -> None:
    messages = [{"role": "user", "content": "tiktoken is great!"}]
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.set_input_messages(messages)  # content capture is off: still estimated
        call.record_output("tiktoken is great!")
    attributes = captured.find("chat gpt-4o").attributes or {}
    # 3 per message + role "user" (1) + 6 content tokens + 3 to prime the reply
    assert attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 3 + 1 + 6 + 3
    assert attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 6
    assert attributes[semconv.LLMTRACE_USAGE_ESTIMATED] is True
    assert semconv.GEN_AI_USAGE_COST_AMOUNT in attributes


def test_a_string_prompt_for_chat_counts_as_one_user_message(captured: SpanCapture) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.set_input_messages("tiktoken is great!")
    with llmtrace.llm_call("gpt-4o", provider="openai", operation="text_completion") as call:
        call.set_input_messages("tiktoken is great!")
    chat = captured.find("chat gpt-4o").attributes or {}
    completion = captured.find("text_completion gpt-4o").attributes or {}
    text_tokens = count_tokens("gpt-4o", "tiktoken is great!")
    assert text_tokens == 6
    assert chat[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 3 + 1 + text_tokens + 3
    assert completion[semconv.GEN_AI_USAGE_INPUT_TOKENS] == text_tokens


def test_recorded_usage_is_never_replaced_by_an_estimate(captured: SpanCapture) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.set_input_messages("a long prompt " * 50)
        call.record_usage(input_tokens=7, output_tokens=1)
    attributes = captured.find("chat gpt-4o").attributes or {}
    assert attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 7
    assert semconv.LLMTRACE_USAGE_ESTIMATED not in attributes


def test_no_content_and_no_usage_means_no_usage(captured: SpanCapture) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai"):
        pass
    attributes = captured.find("chat gpt-4o").attributes or {}
    assert semconv.GEN_AI_USAGE_INPUT_TOKENS not in attributes
    assert semconv.LLMTRACE_COST_UNKNOWN_MODEL not in attributes


def test_record_usage_from_a_provider_object_and_merging(captured: SpanCapture) -> None:
    usage = CompletionUsage(
        prompt_tokens=100,
        completion_tokens=10,
        total_tokens=110,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=64),
    )
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.record_usage(usage)
        call.record_usage(reasoning_tokens=4)  # later calls update what they give
        call.record_usage(output_tokens=-1, input_tokens=True)  # type: ignore[arg-type]
    assert call.usage == Usage(
        input_tokens=100, output_tokens=10, cache_read_input_tokens=64, reasoning_output_tokens=4
    )


def test_finish_reasons_and_first_token(captured: SpanCapture) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.mark_first_token()
        call.record_response(finish_reasons=["stop", "length"])
        call.record_usage(input_tokens=1, output_tokens=1)
    attributes = captured.find("chat gpt-4o").attributes or {}
    assert attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop", "length")
    assert attributes[semconv.GEN_AI_REQUEST_STREAM] is True
    assert float(attributes[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]) >= 0  # type: ignore[arg-type]


def test_user_exception_propagates_unchanged_and_fails_the_span(captured: SpanCapture) -> None:
    error = ValueError("the model said no")
    with pytest.raises(ValueError) as raised, llmtrace.llm_call("gpt-4o", provider="openai"):
        raise error
    assert raised.value is error
    span = captured.find("chat gpt-4o")
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})[semconv.ERROR_TYPE] == "ValueError"
    assert span.events[0].name == "exception"


async def test_async_with(captured: SpanCapture) -> None:
    async with llmtrace.llm_call("gpt-4o-mini", provider="openai") as call:
        call.record_usage(input_tokens=3, output_tokens=4)
    with pytest.raises(KeyError):
        async with llmtrace.llm_call("gpt-4o", provider="openai"):
            raise KeyError("missing")
    assert captured.find("chat gpt-4o-mini").status.status_code is StatusCode.UNSET
    assert captured.find("chat gpt-4o").status.status_code is StatusCode.ERROR


def test_child_spans_nest_under_the_llm_span(captured: SpanCapture) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai"), llmtrace.span("http request"):
        pass
    llm = captured.find("chat gpt-4o")
    assert captured.parent_of(captured.find("http request")) == llm


def test_suppressed_gives_no_span(captured: SpanCapture) -> None:
    with suppress_instrumentation(), llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.set_input_messages("hi")
        call.record_usage(input_tokens=1, output_tokens=1)
        assert not call.is_recording
    assert captured.spans == []


def test_tracing_off_is_harmless() -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.set_input_messages("hi")
        call.record_output("hello")
        call.mark_first_token()
    assert not call.is_recording
    assert call.cost is None


def test_unknown_request_parameter_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="temprature"):
        llmtrace.llm_call("gpt-4o", provider="openai", temprature=0.1)


def test_internal_error_is_swallowed_in_production(
    captured: SpanCapture, lenient: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("pricing bug")

    monkeypatch.setattr(pricing, "cost_for", broken)
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.record_usage(input_tokens=1, output_tokens=1)
    span = captured.find("chat gpt-4o")  # ended, and the user's block ran normally
    assert span.status.status_code is StatusCode.UNSET
