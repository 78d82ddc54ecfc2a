"""Streams: create(stream=True), the messages.stream() helper (events, text_stream,
get_final_message(), get_final_text(), until_done()), sync and async; usage from
message_start and message_delta; the span ends exactly once on every exit path."""

from __future__ import annotations

import asyncio
import gc
import json

import anthropic
import pytest
from opentelemetry.trace import StatusCode

from llmtrace import semconv
from tests.support.anthropic_server import MODEL, text_stream_events, tool_stream_events

HI = [{"role": "user", "content": "Hi"}]


def attributes(span):
    return dict(span.attributes or {})


def assert_streamed_usage(span):
    a = attributes(span)
    # message_start: 20 input + 100 cache read + 30 cache write; message_delta: 7 output.
    assert a[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 150
    assert a[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 100
    assert a[semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 30
    assert a[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 7
    assert semconv.LLMTRACE_USAGE_ESTIMATED not in a
    assert a[semconv.GEN_AI_USAGE_COST_AMOUNT] > 0


def test_create_stream_true(server, captured):
    server.add(events=text_stream_events())
    stream = server.client().messages.create(model=MODEL, max_tokens=10, messages=HI, stream=True)
    assert isinstance(stream, anthropic.Stream)  # the proxy keeps isinstance
    types = [event.type for event in stream]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    (span,) = captured.spans
    a = attributes(span)
    assert_streamed_usage(span)
    assert a[semconv.GEN_AI_REQUEST_STREAM] is True
    assert a[semconv.GEN_AI_RESPONSE_ID] == "msg_01"
    assert a[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert a[semconv.LLMTRACE_STREAM_CHUNKS] == len(types)
    assert a[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0


def test_later_usage_counts_replace_earlier_ones(server, captured):
    # The API may repeat the input side in message_delta, cumulatively.
    events = text_stream_events(
        start_usage={"input_tokens": 5, "output_tokens": 1},
        end_usage={"input_tokens": 40, "output_tokens": 9, "cache_read_input_tokens": 8},
    )
    server.add(events=events)
    for _ in server.client().messages.create(model=MODEL, max_tokens=10, messages=HI, stream=True):
        pass
    a = attributes(captured.spans[0])
    assert a[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 48
    assert a[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 9


def read_events(stream):
    return [event.type for event in stream]


def read_text_stream(stream):
    return "".join(stream.text_stream)


def read_final_message(stream):
    return stream.get_final_message().content[0].text


def read_final_text(stream):
    return stream.get_final_text()


def read_until_done(stream):
    stream.until_done()
    return stream.current_message_snapshot.content[0].text


@pytest.mark.parametrize(
    "read", [read_events, read_text_stream, read_final_message, read_final_text, read_until_done]
)
def test_stream_helper_every_way_of_reading(server, captured_content, read):
    server.add(events=text_stream_events())
    with server.client().messages.stream(model=MODEL, max_tokens=10, messages=HI) as stream:
        result = read(stream)
    assert result == "Hello!" or "message_stop" in result
    (span,) = captured_content.spans
    assert_streamed_usage(span)
    a = attributes(span)
    (output,) = json.loads(a[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert output == {
        "role": "assistant",
        "parts": [{"type": "text", "content": "Hello!"}],
        "finish_reason": "stop",
    }
    assert semconv.LLMTRACE_STREAM_ABANDONED not in a


def test_stream_helper_thinking_and_tool_use(server, captured_content):
    server.add(events=tool_stream_events())
    with server.client().messages.stream(
        model=MODEL,
        max_tokens=1024,
        messages=HI,
        thinking={"type": "enabled", "budget_tokens": 512},
        tools=[{"name": "get_weather", "input_schema": {"type": "object"}}],
    ) as stream:
        final = stream.get_final_message()
    assert final.content[1].input == {"city": "Paris"}
    (span,) = captured_content.spans
    a = attributes(span)
    (output,) = json.loads(a[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert output["finish_reason"] == "tool_call"
    assert output["parts"] == [
        {"type": "reasoning", "content": "Need the weather."},
        {
            "type": "tool_call",
            "id": "toolu_1",
            "name": "get_weather",
            "arguments": {"city": "Paris"},
        },
    ]
    assert a[semconv.LLMTRACE_RESPONSE_TOOL_CALLS] == ("get_weather",)
    assert a[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 40
    assert a[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 50


async def test_async_create_stream(server, captured):
    server.add(events=text_stream_events())
    client = server.client(asynchronous=True)
    stream = await client.messages.create(model=MODEL, max_tokens=10, messages=HI, stream=True)
    async for _ in stream:
        pass
    (span,) = captured.spans
    assert_streamed_usage(span)


async def test_async_stream_helper_text_stream_then_final_message(server, captured):
    server.add(events=text_stream_events())
    client = server.client(asynchronous=True)
    async with client.messages.stream(model=MODEL, max_tokens=10, messages=HI) as stream:
        texts = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(texts) == "Hello!" == final.content[0].text
    (span,) = captured.spans
    assert_streamed_usage(span)


async def test_async_stream_helper_get_final_text(server, captured):
    server.add(events=text_stream_events())
    client = server.client(asynchronous=True)
    async with client.messages.stream(model=MODEL, max_tokens=10, messages=HI) as stream:
        assert await stream.get_final_text() == "Hello!"
    assert len(captured.spans) == 1


def test_raw_response_of_a_stream_as_langchain_reads_it(server, captured):
    server.add(events=text_stream_events())
    raw = server.client().messages.with_raw_response.create(
        model=MODEL, max_tokens=10, messages=HI, stream=True
    )
    assert captured.spans == []
    for _ in raw.parse():
        pass
    (span,) = captured.spans
    assert_streamed_usage(span)


# -- every exit path ends the span exactly once ---------------------------------------------


def test_early_break_then_close(server, captured):
    server.add(events=text_stream_events())
    stream = server.client().messages.create(model=MODEL, max_tokens=10, messages=HI, stream=True)
    for _ in stream:
        break
    assert captured.spans == []
    stream.close()
    stream.close()
    (span,) = captured.spans
    a = attributes(span)
    assert a[semconv.LLMTRACE_STREAM_CHUNKS] == 1
    assert semconv.LLMTRACE_STREAM_ABANDONED not in a
    assert span.status.status_code is not StatusCode.ERROR


def test_abandoned_stream_ends_when_collected(server, captured):
    server.add(events=text_stream_events())
    stream = server.client().messages.create(model=MODEL, max_tokens=10, messages=HI, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    (span,) = captured.spans
    assert attributes(span)[semconv.LLMTRACE_STREAM_ABANDONED] is True
    # message_start already gave the input side of usage: it is the server's, not estimated.
    assert attributes(span)[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 150


def test_helper_left_early_by_the_with_block(server, captured):
    server.add(events=text_stream_events())
    with server.client().messages.stream(model=MODEL, max_tokens=10, messages=HI) as stream:
        for _ in stream:
            break
    (span,) = captured.spans
    assert attributes(span)[semconv.LLMTRACE_STREAM_CHUNKS] == 1


class Stop(Exception):
    pass


def test_exception_in_the_callers_loop_propagates_and_ends_the_span(server, captured):
    server.add(events=text_stream_events())
    with (
        pytest.raises(Stop),
        server.client().messages.stream(model=MODEL, max_tokens=10, messages=HI) as stream,
    ):
        for _ in stream:
            raise Stop
    (span,) = captured.spans
    assert span.status.status_code is StatusCode.ERROR
    assert attributes(span)[semconv.ERROR_TYPE] == "Stop"


def test_truncated_stream_raises_the_sdk_error_and_ends_once(server, captured):
    server.add(events=text_stream_events(), truncate_after=3)
    stream = server.client().messages.create(model=MODEL, max_tokens=10, messages=HI, stream=True)
    with pytest.raises(Exception) as raised:
        for _ in stream:
            pass
    assert "llmtrace" not in type(raised.value).__module__
    stream.close()
    (span,) = captured.spans
    assert span.status.status_code is StatusCode.ERROR
    assert attributes(span)[semconv.ERROR_TYPE] == type(raised.value).__qualname__


def test_error_event_mid_stream(server, captured):
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    events = [*text_stream_events()[:3], ("error", overloaded)]
    server.add(events=events)
    with (
        pytest.raises(anthropic.APIStatusError) as raised,
        server.client().messages.stream(model=MODEL, max_tokens=10, messages=HI) as stream,
    ):
        stream.until_done()
    (span,) = captured.spans
    assert span.status.status_code is StatusCode.ERROR
    assert attributes(span)[semconv.ERROR_TYPE] == type(raised.value).__qualname__


def test_helper_request_that_fails_before_streaming(server, captured):
    server.add(
        {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}}, status=429
    )
    with (
        pytest.raises(anthropic.RateLimitError),
        server.client().messages.stream(model=MODEL, max_tokens=10, messages=HI),
    ):
        pass
    (span,) = captured.spans
    assert attributes(span)[semconv.ERROR_TYPE] == "RateLimitError"
    assert attributes(span)[semconv.HTTP_RESPONSE_STATUS_CODE] == 429


async def test_cancelled_async_stream_ends_once(server, captured):
    server.add(events=text_stream_events())
    client = server.client(asynchronous=True)
    started = asyncio.Event()

    async def consume():
        async with client.messages.stream(model=MODEL, max_tokens=10, messages=HI) as stream:
            async for _ in stream:
                started.set()
                await asyncio.sleep(10)

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (span,) = captured.spans
    assert attributes(span)[semconv.LLMTRACE_STREAM_CHUNKS] >= 1


async def test_beta_stream_helper(server, captured):
    server.add(events=text_stream_events())
    client = server.client(asynchronous=True)
    async with client.beta.messages.stream(model=MODEL, max_tokens=10, messages=HI) as stream:
        assert await stream.get_final_text() == "Hello!"
    (span,) = captured.spans
    assert_streamed_usage(span)


async def test_async_raw_response_of_a_stream(server, captured):
    server.add(events=text_stream_events())
    client = server.client(asynchronous=True)
    raw = await client.messages.with_raw_response.create(
        model=MODEL, max_tokens=10, messages=HI, stream=True
    )
    assert captured.spans == []
    async for _ in await raw.parse():
        pass
    (span,) = captured.spans
    assert_streamed_usage(span)


async def test_async_streaming_response_closed_unread(server, captured):
    server.add(events=text_stream_events())
    client = server.client(asynchronous=True)
    async with client.messages.with_streaming_response.create(
        model=MODEL, max_tokens=10, messages=HI, stream=True
    ):
        pass
    (span,) = captured.spans
    assert span.end_time is not None
