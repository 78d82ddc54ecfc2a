"""ConverseStream and InvokeModelWithResponseStream over the binary event-stream encoding.

Every exit path ends the span exactly once: exhausted, closed early, abandoned, an
in-stream exception event, a connection cut mid-message.
"""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest
from botocore.eventstream import EventStream
from botocore.exceptions import EventStreamError
from opentelemetry.trace import StatusCode

from tests.support.bedrock_server import (
    BedrockServer,
    chunk_events,
    converse_events,
    exception_event,
)

MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Weather in Paris?"}]}]

CONVERSE_EVENTS = converse_events(
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": "Let me "}, "contentBlockIndex": 0}},
    {"contentBlockDelta": {"delta": {"text": "check."}, "contentBlockIndex": 0}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {
        "contentBlockStart": {
            "start": {"toolUse": {"toolUseId": "tu1", "name": "weather"}},
            "contentBlockIndex": 1,
        }
    },
    {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"city": '}}, "contentBlockIndex": 1}},
    {"contentBlockDelta": {"delta": {"toolUse": {"input": '"Paris"}'}}, "contentBlockIndex": 1}},
    {"contentBlockStop": {"contentBlockIndex": 1}},
    {"messageStop": {"stopReason": "tool_use"}},
    {
        "metadata": {
            "usage": {
                "inputTokens": 30,
                "outputTokens": 12,
                "totalTokens": 242,
                "cacheReadInputTokens": 200,
            },
            "metrics": {"latencyMs": 400},
        }
    },
)


def stream_span(captured: Any, name: str) -> Any:
    spans = captured.by_name(name)
    assert len(spans) == 1, captured.names()
    return spans[0]


def test_converse_stream_full(captured_content, server: BedrockServer):
    server.stream(CONVERSE_EVENTS)
    response = server.client().converse_stream(modelId=MODEL, messages=MESSAGES)
    assert not captured_content.spans  # the span ends with the stream
    assert isinstance(response["stream"], EventStream)
    events = list(response["stream"])
    assert len(events) == 10
    assert events[1] == {
        "contentBlockDelta": {"delta": {"text": "Let me "}, "contentBlockIndex": 0}
    }
    span = stream_span(captured_content, f"chat {MODEL}")
    attrs = span.attributes
    assert span.status.status_code is StatusCode.UNSET
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert attrs["gen_ai.usage.input_tokens"] == 230
    assert attrs["gen_ai.usage.output_tokens"] == 12
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 200
    assert attrs["gen_ai.usage.cost.amount"] > 0
    assert attrs["llmtrace.stream.chunks"] == 10
    assert attrs["llmtrace.response.tool_calls"] == ("weather",)
    assert attrs["gen_ai.response.time_to_first_chunk"] >= 0
    assert "gen_ai.response.model" not in attrs
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Let me check."},
                {
                    "type": "tool_call",
                    "id": "tu1",
                    "name": "weather",
                    "arguments": {"city": "Paris"},
                },
            ],
            "finish_reason": "tool_call",
        }
    ]


def test_converse_stream_closed_early(captured, server: BedrockServer):
    server.stream(CONVERSE_EVENTS)
    stream = server.client().converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]
    for _ in stream:
        break
    stream.close()
    stream.close()
    span = stream_span(captured, f"chat {MODEL}")
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["llmtrace.stream.chunks"] == 1
    assert "llmtrace.stream.abandoned" not in span.attributes
    # no usage arrived: estimated locally, and marked so
    assert span.attributes["llmtrace.usage.estimated"] is True


def test_converse_stream_abandoned(captured, server: BedrockServer):
    server.stream(CONVERSE_EVENTS)
    response = server.client().converse_stream(modelId=MODEL, messages=MESSAGES)
    for _ in response["stream"]:
        break
    del response, _
    gc.collect()
    span = stream_span(captured, f"chat {MODEL}")
    assert span.attributes["llmtrace.stream.abandoned"] is True


def test_converse_stream_exception_event(captured, server: BedrockServer):
    server.stream([*CONVERSE_EVENTS[:3], exception_event("throttlingException", "slow down")])
    stream = server.client().converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]
    seen = []
    with pytest.raises(EventStreamError) as raised:
        for event in stream:
            seen.append(event)
    assert len(seen) == 3
    assert raised.value.response["Error"]["Code"] == "throttlingException"
    span = stream_span(captured, f"chat {MODEL}")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ThrottlingException"
    assert span.attributes["llmtrace.stream.chunks"] == 3


def test_converse_stream_connection_cut(captured, server: BedrockServer):
    server.stream(CONVERSE_EVENTS, truncate_after=4)
    stream = server.client().converse_stream(modelId=MODEL, messages=MESSAGES)["stream"]
    seen = []
    with pytest.raises(Exception) as raised:
        for event in stream:
            seen.append(event)
    assert len(seen) == 4
    span = stream_span(captured, f"chat {MODEL}")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(raised.value).__qualname__


# -- InvokeModelWithResponseStream ------------------------------------------------------------

ANTHROPIC_CHUNKS = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_bdrk_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-3-5-haiku-20241022",
            "content": [],
            "usage": {"input_tokens": 12, "cache_read_input_tokens": 100, "output_tokens": 1},
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}},
    {
        "type": "message_stop",
        "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": 12,
            "outputTokenCount": 5,
            "invocationLatency": 300,
            "firstByteLatency": 100,
        },
    },
]


def read_stream(response: Any) -> list[dict[str, Any]]:
    return [json.loads(event["chunk"]["bytes"]) for event in response["body"]]


def test_invoke_stream_anthropic(captured_content, server: BedrockServer):
    server.stream(chunk_events(*ANTHROPIC_CHUNKS))
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hello"}],
    }
    response = server.client().invoke_model_with_response_stream(
        modelId=MODEL, body=json.dumps(body)
    )
    assert read_stream(response) == ANTHROPIC_CHUNKS
    attrs = stream_span(captured_content, f"chat {MODEL}").attributes
    assert attrs["gen_ai.response.id"] == "msg_bdrk_1"
    assert attrs["gen_ai.response.model"] == "claude-3-5-haiku-20241022"
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attrs["gen_ai.usage.input_tokens"] == 112
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 100
    assert attrs["gen_ai.usage.output_tokens"] == 5
    assert attrs["gen_ai.request.max_tokens"] == 64
    assert attrs["llmtrace.stream.chunks"] == 7
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Hi!"}],
            "finish_reason": "stop",
        }
    ]
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Hello"}]}
    ]


@pytest.mark.parametrize(
    ("model", "chunks", "operation", "reason", "usage"),
    [
        (
            "amazon.titan-text-express-v1",
            [
                {"outputText": "Hel", "index": 0, "totalOutputTextTokenCount": 1,
                 "completionReason": None, "inputTextTokenCount": 4},
                {"outputText": "lo", "index": 0, "totalOutputTextTokenCount": 2,
                 "completionReason": "FINISH"},
            ],
            "text_completion",
            "FINISH",
            (4, 2),
        ),
        (
            "meta.llama3-1-8b-instruct-v1:0",
            [
                {"generation": "Hel", "prompt_token_count": 9, "generation_token_count": 1,
                 "stop_reason": None},
                {"generation": "lo", "prompt_token_count": None, "generation_token_count": 2,
                 "stop_reason": "stop"},
            ],
            "text_completion",
            "stop",
            (9, 2),
        ),
        (
            "us.amazon.nova-pro-v1:0",
            [
                {"messageStart": {"role": "assistant"}},
                {"contentBlockDelta": {"delta": {"text": "Hello"}, "contentBlockIndex": 0}},
                {"contentBlockStop": {"contentBlockIndex": 0}},
                {"messageStop": {"stopReason": "end_turn"}},
                {"metadata": {"usage": {"inputTokens": 6, "outputTokens": 2}}},
            ],
            "chat",
            "end_turn",
            (6, 2),
        ),
        (
            "cohere.command-text-v14",
            [
                {"text": "Hello", "is_finished": False},
                {
                    "is_finished": True,
                    "finish_reason": "COMPLETE",
                    "amazon-bedrock-invocationMetrics": {
                        "inputTokenCount": 3, "outputTokenCount": 1,
                    },
                },
            ],
            "text_completion",
            "COMPLETE",
            (3, 1),
        ),
    ],
)  # fmt: skip
def test_invoke_stream_families(
    captured_content, server: BedrockServer, model, chunks, operation, reason, usage
):
    server.stream(chunk_events(*chunks))
    response = server.client().invoke_model_with_response_stream(modelId=model, body=b"{}")
    assert read_stream(response) == chunks
    span = stream_span(captured_content, f"{operation} {model}")
    attrs = span.attributes
    assert attrs["gen_ai.response.finish_reasons"] == (reason,)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == usage
    output = json.loads(attrs["gen_ai.output.messages"])
    assert output[0]["parts"] == [{"type": "text", "content": "Hello"}]
    assert "llmtrace.usage.estimated" not in attrs


def test_invoke_stream_in_stream_error(captured, server: BedrockServer):
    server.stream(
        [*chunk_events(*ANTHROPIC_CHUNKS[:3]), exception_event("modelStreamErrorException", "x")]
    )
    response = server.client().invoke_model_with_response_stream(modelId=MODEL, body=b"{}")
    with pytest.raises(EventStreamError):
        read_stream(response)
    span = stream_span(captured, f"chat {MODEL}")
    assert span.attributes["error.type"] == "ModelStreamErrorException"
    assert span.attributes["gen_ai.response.id"] == "msg_bdrk_1"


def test_invoke_stream_garbage_chunk(captured, server: BedrockServer):
    """Chunks that are not JSON never raise; the stream is still delivered untouched."""
    events = chunk_events(*ANTHROPIC_CHUNKS[:2])
    from tests.support.bedrock_server import event

    events.insert(1, event("chunk", {"bytes": "bm90IGpzb24="}))  # b"not json"
    server.stream(events)
    response = server.client().invoke_model_with_response_stream(modelId=MODEL, body=b"{}")
    got = [e["chunk"]["bytes"] for e in response["body"]]
    assert got[1] == b"not json"
    span = stream_span(captured, f"chat {MODEL}")
    assert span.status.status_code is StatusCode.UNSET
