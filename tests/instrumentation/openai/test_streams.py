"""Streams: every way a caller can consume, abandon or break a stream ends the span once."""

from __future__ import annotations

import gc
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import StatusCode

from llmtrace.instrumentation.openai import _stream, allow_usage_hosts
from llmtrace.testing import SpanCapture, capture_spans
from tests.support import openai_bodies as bodies
from tests.support.openai_server import hx, json_response, make_client, sse_response

MESSAGES = [{"role": "user", "content": "Say hello"}]
WORDS = ("Hello", " there", "!")


class CountingProcessor(SpanProcessor):
    def __init__(self) -> None:
        self.ended: Counter[str] = Counter()

    def on_end(self, span: ReadableSpan) -> None:
        self.ended[span.name] += 1


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[SpanCapture]:
    """Captured spans; ``spans.ends`` counts span ends, ``spans.finishes`` hook finishes."""
    counter = CountingProcessor()
    finishes: list[int] = []  # span ids of the stream hooks' on_end calls
    original = _stream.OpenAIStreamHooks.on_end

    def on_end(self: Any, error: BaseException | None, abandoned: bool) -> None:
        finishes.append(self.inv.span.get_span_context().span_id)
        original(self, error, abandoned)

    monkeypatch.setattr(_stream.OpenAIStreamHooks, "on_end", on_end)
    with capture_spans(capture_content=True, extra_processors=[counter]) as capture:
        capture.ends = counter.ended  # type: ignore[attr-defined]
        capture.finishes = finishes  # type: ignore[attr-defined]
        yield capture


def chat_client(*, usage_chunk: bool = True, asynchronous: bool = False, **kwargs: Any) -> Any:
    """A client whose server honours include_usage (as api.openai.com does)."""

    def answer(request: Any) -> Any:
        body = json.loads(request.content)
        wants_usage = (body.get("stream_options") or {}).get("include_usage", False)
        events = bodies.chat_stream(WORDS, usage=usage_chunk and wants_usage)
        return hx.Response(
            200, content=bodies.sse(events), headers={"content-type": "text/event-stream"}
        )

    return make_client(answer, asynchronous=asynchronous, **kwargs)


def the_span(spans: SpanCapture) -> ReadableSpan:
    span = spans.find("chat gpt-4o-mini")
    assert spans.ends == {"chat gpt-4o-mini": 1}  # type: ignore[attr-defined]
    assert spans.finishes.count(span.context.span_id) == 1  # type: ignore[attr-defined]
    return span


def test_full_iteration_records_usage_and_hides_the_extra_chunk(spans):
    client, recorder = chat_client()
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    chunks = list(stream)
    assert len(chunks) == len(WORDS) + 2  # role chunk, words, finish chunk; no usage chunk
    assert all(c.choices for c in chunks)
    assert recorder.bodies[0]["stream_options"] == {"include_usage": True}
    span = the_span(spans)
    attrs = span.attributes
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.id"] == "chatcmpl-stream1"
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["openai.response.system_fingerprint"] == "fp_44709d6fcb"
    assert attrs["gen_ai.usage.input_tokens"] == 12
    assert attrs["gen_ai.usage.output_tokens"] == 4
    assert "llmtrace.usage.estimated" not in attrs
    assert attrs["llmtrace.stream.chunks"] == len(chunks)
    assert attrs["gen_ai.response.time_to_first_chunk"] >= 0
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "finish_reason": "stop",
            "parts": [{"type": "text", "content": "Hello there!"}],
        }
    ]


def test_the_proxy_keeps_its_state_to_itself(spans):
    client, _ = chat_client()
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert isinstance(stream, openai.Stream)
    before = set(vars(stream.__wrapped__))
    assert stream.response.status_code == 200  # attributes pass through
    list(stream)
    assert set(vars(stream.__wrapped__)) == before
    assert not any("llmtrace" in k or k.startswith("_self_") for k in before)


def test_caller_asking_for_usage_still_gets_the_usage_chunk(spans):
    client, _ = chat_client()
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].usage.total_tokens == 16 and chunks[-1].choices == []
    assert the_span(spans).attributes["gen_ai.usage.output_tokens"] == 4


def test_with_block_and_break(spans):
    client, _ = chat_client()
    with client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as stream:
        for chunk in stream:
            if chunk.choices[0].delta.content == "Hello":
                break
        assert spans.spans == []  # still open inside the block
    attrs = the_span(spans).attributes
    assert attrs["llmtrace.stream.chunks"] == 2
    assert attrs["gen_ai.response.finish_reasons"] == ("error",)  # cut short
    assert attrs["llmtrace.usage.estimated"] is True  # cut short: counted locally
    assert attrs["gen_ai.usage.input_tokens"] > 0
    assert "llmtrace.stream.abandoned" not in attrs


def test_close_midway(spans):
    client, _ = chat_client()
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(stream)
    stream.close()
    stream.close()
    assert stream.response.is_closed
    assert the_span(spans).attributes["llmtrace.stream.chunks"] == 1


def test_break_without_closing_ends_when_the_stream_is_dropped(spans):
    client, _ = chat_client()
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    for _ in stream:
        break
    assert spans.spans == []
    del stream
    gc.collect()
    span = the_span(spans)
    assert span.attributes["llmtrace.stream.abandoned"] is True
    assert span.status.status_code is StatusCode.UNSET


def test_dropped_before_iterating(spans):
    client, _ = chat_client()
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    gc.collect()
    span = the_span(spans)
    assert span.attributes["llmtrace.stream.abandoned"] is True
    assert span.attributes["llmtrace.stream.chunks"] == 0


def test_exception_in_the_callers_loop(spans):
    client, _ = chat_client()
    boom = ValueError("user bug")
    with pytest.raises(ValueError) as raised:
        with client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        ) as stream:
            for _ in stream:
                raise boom
    assert raised.value is boom
    span = the_span(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ValueError"


def test_error_event_in_the_stream_reaches_the_caller_unchanged(spans):
    events = bodies.sse(bodies.chat_stream(WORDS, usage=False)[:2], done=False)
    events += b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
    client, _ = make_client(sse_response(events))
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIError, match="overloaded"):
        list(stream)
    span = the_span(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "APIError"
    assert span.attributes["llmtrace.stream.chunks"] == 2


def test_unknown_host_counts_usage_locally(spans):
    client, recorder = chat_client(base_url="http://127.0.0.1:8000/v1")
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert "stream_options" not in recorder.bodies[0]
    attrs = the_span(spans).attributes
    assert attrs["gen_ai.provider.name"] == "vllm"
    assert attrs["server.address"] == "127.0.0.1" and attrs["server.port"] == 8000
    assert attrs["llmtrace.usage.estimated"] is True
    assert attrs["gen_ai.usage.output_tokens"] >= 3
    assert attrs["gen_ai.usage.input_tokens"] >= 4


def test_allowed_host_gets_include_usage(spans):
    allow_usage_hosts(["127.0.0.1:8000"])
    client, recorder = chat_client(base_url="http://127.0.0.1:8000/v1")
    chunks = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    )
    assert recorder.bodies[0]["stream_options"] == {"include_usage": True}
    assert all(c.choices for c in chunks)
    assert "llmtrace.usage.estimated" not in the_span(spans).attributes


def test_server_ignoring_include_usage_gets_an_estimate(spans):
    client, _ = chat_client(usage_chunk=False)
    chunks = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    )
    assert len(chunks) == len(WORDS) + 2
    assert the_span(spans).attributes["llmtrace.usage.estimated"] is True


def test_streamed_tool_calls(spans):
    client, _ = make_client(sse_response(bodies.sse(bodies.TOOL_STREAM)))
    list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    attrs = the_span(spans).attributes
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert attrs["llmtrace.response.tool_calls"] == ("get_weather",)
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "finish_reason": "tool_call",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_abc",
                    "name": "get_weather",
                    "arguments": {"location": "Paris"},
                }
            ],
        }
    ]


def test_stream_helper(spans):
    client, _ = chat_client()
    with client.chat.completions.stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
        text = "".join(e.delta for e in stream if e.type == "content.delta")
        final = stream.get_final_completion()
    assert text == "Hello there!"
    assert final.choices[0].message.content == "Hello there!"
    assert the_span(spans).attributes["gen_ai.usage.output_tokens"] == 4


def test_raw_response_of_a_stream(spans):
    client, _ = chat_client()
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    stream = raw.parse()
    assert raw.parse() is stream
    assert len(list(stream)) == len(WORDS) + 2
    assert the_span(spans).attributes["gen_ai.usage.input_tokens"] == 12


def test_streaming_response_of_a_stream(spans):
    client, _ = chat_client()
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as response:
        first = next(iter(response.parse()))
        assert first.choices[0].delta.role == "assistant"
    attrs = the_span(spans).attributes
    assert attrs["llmtrace.stream.chunks"] == 1


def test_legacy_completion_stream(spans):
    chunk = {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": "gpt-3.5-turbo-instruct",
    }
    events = [
        {**chunk, "choices": [{"text": t, "index": 0, "finish_reason": None}]}
        for t in ("Once", " upon")
    ]
    events.append({**chunk, "choices": [{"text": "", "index": 0, "finish_reason": "length"}]})
    events.append(
        {
            **chunk,
            "choices": [],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
    )
    client, recorder = make_client(sse_response(bodies.sse(events)))
    got = list(
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Tell", stream=True)
    )
    assert len(got) == 3
    assert recorder.bodies[0]["stream_options"] == {"include_usage": True}
    span = spans.find("text_completion gpt-3.5-turbo-instruct")
    assert span.attributes["gen_ai.usage.output_tokens"] == 2
    assert span.attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert json.loads(span.attributes["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "text", "content": "Once upon"}
    ]


def test_responses_stream(spans):
    client, recorder = make_client(sse_response(bodies.sse(bodies.responses_stream(), named=True)))
    events = list(client.responses.create(model="gpt-4o", input="Tell a story", stream=True))
    assert [e.type for e in events][-1] == "response.completed"
    assert "stream_options" not in recorder.bodies[0]
    span = spans.find("chat gpt-4o")
    attrs = span.attributes
    assert attrs["gen_ai.usage.input_tokens"] == 36
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 64
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.response.time_to_first_chunk"] >= 0
    assert json.loads(attrs["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "text", "content": "A unicorn."}
    ]


def test_responses_stream_helper(spans):
    client, _ = make_client(sse_response(bodies.sse(bodies.responses_stream(), named=True)))
    with client.responses.stream(model="gpt-4o", input="Tell a story") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == "A unicorn."
    assert spans.find("chat gpt-4o").attributes["gen_ai.usage.output_tokens"] == 87


def test_responses_stream_cut_short(spans):
    client, _ = make_client(sse_response(bodies.sse(bodies.responses_stream(), named=True)))
    with client.responses.create(model="gpt-4o", input="Tell a story", stream=True) as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                break
    attrs = spans.find("chat gpt-4o").attributes
    assert attrs["gen_ai.response.id"].startswith("resp_")
    assert attrs["llmtrace.usage.estimated"] is True
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "A "}],
            "finish_reason": "error",
        }
    ]


# -- async -----------------------------------------------------------------------------------


async def test_async_full_iteration(spans):
    client, _ = chat_client(asynchronous=True)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    assert isinstance(stream, openai.AsyncStream)
    chunks = [c async for c in stream]
    assert len(chunks) == len(WORDS) + 2
    assert the_span(spans).attributes["gen_ai.usage.input_tokens"] == 12


async def test_async_with_block_and_break(spans):
    client, _ = chat_client(asynchronous=True)
    async with await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as stream:
        async for _ in stream:
            break
    attrs = the_span(spans).attributes
    assert attrs["llmtrace.stream.chunks"] == 1
    assert "llmtrace.stream.abandoned" not in attrs


async def test_async_close(spans):
    client, _ = chat_client(asynchronous=True)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    await stream.__anext__()
    await stream.close()
    assert the_span(spans).attributes["llmtrace.stream.chunks"] == 1


async def test_async_exception_in_the_callers_loop(spans):
    client, _ = chat_client(asynchronous=True)
    with pytest.raises(KeyError):
        async with await client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        ) as stream:
            async for _ in stream:
                raise KeyError("user bug")
    assert the_span(spans).attributes["error.type"] == "KeyError"


async def test_async_dropped_without_closing(spans):
    client, _ = chat_client(asynchronous=True)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    await stream.__anext__()
    await stream.response.aclose()  # tidy up the connection; the proxy is never closed
    del stream
    gc.collect()
    assert the_span(spans).attributes["llmtrace.stream.abandoned"] is True


async def test_async_responses_stream(spans):
    client, _ = make_client(
        sse_response(bodies.sse(bodies.responses_stream(), named=True)), asynchronous=True
    )
    stream = await client.responses.create(model="gpt-4o", input="Hi", stream=True)
    async for _ in stream:
        pass
    assert spans.find("chat gpt-4o").attributes["gen_ai.usage.output_tokens"] == 87


async def test_async_raw_response_of_a_stream(spans):
    client, _ = chat_client(asynchronous=True)
    async with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    ) as response:
        stream = await response.parse()
        chunks = [c async for c in stream]
    assert len(chunks) == len(WORDS) + 2
    assert the_span(spans).attributes["gen_ai.usage.output_tokens"] == 4


def test_non_stream_calls_are_unaffected_by_the_stream_fixture(spans):
    client, _ = make_client(json_response(bodies.chat()))
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert spans.ends == {"chat gpt-4o-mini": 1}  # type: ignore[attr-defined]
    assert spans.finishes == []  # type: ignore[attr-defined]
