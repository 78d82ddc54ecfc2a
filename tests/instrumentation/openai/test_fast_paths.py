"""The per-chunk and per-call fast paths give the same records as the generic ones."""

from __future__ import annotations

import gc
import json
from typing import Any

from openai.types.chat import ChatCompletion, ChatCompletionChunk

from llmtrace._genai.lifecycle import LLMInvocation
from llmtrace.instrumentation.openai._messages import get_rare
from llmtrace.instrumentation.openai._stream import OpenAIStreamHooks
from llmtrace.testing import SpanCapture
from tests.support import openai_bodies as bodies
from tests.support.openai_server import hx, json_response, make_client

MESSAGES = [{"role": "user", "content": "Say hello"}]
WORDS = ("Hello", " there", "!")


def stream_client() -> Any:
    payload = bodies.sse(bodies.chat_stream(WORDS, usage=True))
    return make_client(
        lambda request: hx.Response(
            200, content=payload, headers={"content-type": "text/event-stream"}
        )
    )[0]


def test_next_and_for_can_be_mixed_on_one_stream(captured: SpanCapture) -> None:
    stream = stream_client().chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    first = next(stream)
    rest = [chunk for chunk in stream]  # a generator over the same chunks
    assert [first, *rest] and len(rest) == len(WORDS) + 1  # role, words, finish; usage hidden
    (span,) = captured.spans
    assert span.attributes["llmtrace.stream.chunks"] == len(rest) + 1
    assert span.attributes["gen_ai.usage.output_tokens"] == 4


def test_a_stream_left_half_read_through_iter_is_ended_when_collected(
    captured: SpanCapture,
) -> None:
    stream = stream_client().chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    next(iter(stream))
    del stream
    gc.collect()
    (span,) = captured.spans
    assert span.attributes["llmtrace.stream.abandoned"] is True


def _accumulate(chunks: list[Any]) -> tuple[Any, ...]:
    inv = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o-mini")
    inv.capture_content = True
    hooks = OpenAIStreamHooks(inv, "chat", False, None)
    for chunk in chunks:
        hooks.on_chunk(chunk)
    hooks._finish_choices()
    return inv.finish_reasons, inv.output_messages, inv.usage, dict(inv.attributes)


def test_sdk_chunks_dicts_and_sdk_chunks_holding_dicts_accumulate_alike() -> None:
    events = bodies.chat_stream(WORDS, usage=True)
    call = {"index": 0, "id": "call_1", "type": "function"}
    call["function"] = {"name": "f", "arguments": "{}"}
    events.insert(-1, bodies.chat_chunk({"tool_calls": [call]}, "tool_calls", index=1))
    as_dicts = _accumulate([json.loads(json.dumps(e)) for e in events])
    as_objects = _accumulate([ChatCompletionChunk.construct(**e) for e in events])
    holding_dicts = _accumulate([ChatCompletionChunk.model_construct(**e) for e in events])
    assert as_dicts == as_objects == holding_dicts
    assert as_dicts[0] == ["stop", "tool_calls"]


def test_a_response_message_name_sent_as_an_extra_field_is_captured(
    captured_content: SpanCapture,
) -> None:
    completion = bodies.chat("Hi")
    completion["choices"][0]["message"]["name"] = "helper"
    client, _ = make_client(json_response(completion))
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    (span,) = captured_content.spans
    (message,) = json.loads(span.attributes["gen_ai.output.messages"])
    assert message["name"] == "helper"


def test_get_rare_reads_fields_extras_and_mappings_without_raising() -> None:
    message = ChatCompletion.model_validate(bodies.chat("Hi")).choices[0].message
    assert get_rare(message, "name") is None  # not declared, not sent
    assert get_rare(message, "role") == "assistant"  # declared
    assert get_rare({"name": "x"}, "name") == "x"
    assert get_rare(None, "name") is None
