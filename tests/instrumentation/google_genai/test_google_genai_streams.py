"""Streams: every way a caller reads, abandons or breaks a Gemini stream ends the span once."""

from __future__ import annotations

import asyncio
import gc
import json
import types
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from google.genai import errors
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.trace import StatusCode

from llmtrace.instrumentation.google_genai import _stream
from llmtrace.testing import SpanCapture, capture_spans
from tests.support.gemini_server import (
    MODEL,
    GeminiServer,
    make_client,
    response,
    stream_events,
    usage,
)

SPAN = f"generate_content {MODEL}"
# google-genai's own aiohttp session class, defined on first async use.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession:DeprecationWarning"
)


class CountingProcessor(SpanProcessor):
    def __init__(self) -> None:
        self.ended: Counter[str] = Counter()

    def on_end(self, span: ReadableSpan) -> None:
        self.ended[span.name] += 1


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[SpanCapture]:
    """Captured spans; ``spans.ends`` counts span ends, ``spans.finishes`` hook finishes."""
    counter = CountingProcessor()
    finishes: list[int] = []
    original = _stream.GeminiStreamHooks.on_end

    def on_end(self: Any, error: BaseException | None, abandoned: bool) -> None:
        finishes.append(self.inv.span.get_span_context().span_id)
        original(self, error, abandoned)

    monkeypatch.setattr(_stream.GeminiStreamHooks, "on_end", on_end)
    with capture_spans(capture_content=True, extra_processors=[counter]) as capture:
        capture.ends = counter.ended  # type: ignore[attr-defined]
        capture.finishes = finishes  # type: ignore[attr-defined]
        yield capture


def the_span(spans: SpanCapture) -> ReadableSpan:
    span = spans.find(SPAN)
    assert spans.ends == {SPAN: 1}  # type: ignore[attr-defined]
    assert spans.finishes.count(span.context.span_id) == 1  # type: ignore[attr-defined]
    return span


def check_full_stream(span: ReadableSpan, texts: list[str]) -> None:
    assert texts == ["Hello", " there", "!"]
    attrs = span.attributes
    assert attrs["gen_ai.operation.name"] == "generate_content"
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.id"] == "resp-s1"
    assert attrs["gen_ai.response.model"] == "gemini-2.5-flash"
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.usage.input_tokens"] == 8
    assert attrs["gen_ai.usage.output_tokens"] == 3
    assert "llmtrace.usage.estimated" not in attrs
    assert attrs["llmtrace.stream.chunks"] == 3
    assert attrs["gen_ai.response.time_to_first_chunk"] >= 0
    assert attrs["gen_ai.usage.cost.amount"] > 0
    assert span.status.status_code is StatusCode.UNSET
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "Hello there!"}],
            "finish_reason": "stop",
        }
    ]


def test_full_iteration(server: GeminiServer, spans: SpanCapture) -> None:
    server.add(events=stream_events())
    stream = make_client(server).models.generate_content_stream(model=MODEL, contents="Hi")
    texts = [chunk.text for chunk in stream]
    assert server.requests[0][0].endswith(":streamGenerateContent?alt=sse")
    check_full_stream(the_span(spans), texts)


def test_the_proxy_passes_for_the_sdks_generator(server: GeminiServer, spans: SpanCapture) -> None:
    server.add(events=stream_events())
    stream = make_client(server).models.generate_content_stream(model=MODEL, contents="Hi")
    assert isinstance(stream, types.GeneratorType)
    assert stream.gi_frame is not None  # attributes pass through to the generator
    list(stream)
    assert stream.gi_frame is None
    the_span(spans)


@pytest.mark.parametrize("transport", ["aiohttp", "httpx2"])
async def test_async_full_iteration(
    server: GeminiServer, spans: SpanCapture, transport: str
) -> None:
    server.add(events=stream_events())
    async_client = httpx2.AsyncClient() if transport == "httpx2" else None
    client = make_client(server, async_client=async_client)
    try:
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents="Hi")
        texts = [chunk.text async for chunk in stream]
    finally:
        await client.aio.aclose()
        if async_client is not None:
            await async_client.aclose()
    check_full_stream(the_span(spans), texts)


@pytest.mark.parametrize("transport", ["aiohttp", "httpx2"])
async def test_async_generate_content(
    server: GeminiServer, spans: SpanCapture, transport: str
) -> None:
    server.add(response(usage_metadata=usage(8, 5)))
    async_client = httpx2.AsyncClient() if transport == "httpx2" else None
    client = make_client(server, async_client=async_client)
    try:
        result = await client.aio.models.generate_content(model=MODEL, contents="Hi")
    finally:
        await client.aio.aclose()
        if async_client is not None:
            await async_client.aclose()
    assert result.text == "Hi!"
    attrs = spans.find(SPAN).attributes
    assert attrs["gen_ai.usage.input_tokens"] == 8
    assert attrs["gen_ai.usage.output_tokens"] == 5
    assert "gen_ai.request.stream" not in attrs


async def test_async_break_and_aclose(server: GeminiServer, spans: SpanCapture) -> None:
    server.add(events=stream_events())
    client = make_client(server)
    try:
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents="Hi")
        async for _chunk in stream:
            break
        assert spans.spans == []
        await stream.aclose()
    finally:
        await client.aio.aclose()
    attrs = the_span(spans).attributes
    assert attrs["llmtrace.stream.chunks"] == 1
    assert "llmtrace.stream.abandoned" not in attrs
    assert attrs["gen_ai.usage.input_tokens"] == 8  # exact, from the first chunk
    assert attrs["llmtrace.usage.estimated"] is True  # the output count never came


async def test_cancelled_while_waiting_for_a_chunk(
    server: GeminiServer, spans: SpanCapture
) -> None:
    server.add(events=stream_events(), hold_after=1)
    client = make_client(server)
    first_chunk = asyncio.Event()

    async def consume() -> None:
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents="Hi")
        async for _chunk in stream:
            first_chunk.set()

    task = asyncio.create_task(consume())
    try:
        await first_chunk.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        server.release.set()
        await client.aio.aclose()
    span = the_span(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "CancelledError"
    assert span.attributes["llmtrace.stream.chunks"] == 1


def test_close_midway(server: GeminiServer, spans: SpanCapture) -> None:
    server.add(events=stream_events())
    stream = make_client(server).models.generate_content_stream(model=MODEL, contents="Hi")
    assert next(stream).text == "Hello"
    stream.close()
    stream.close()
    attrs = the_span(spans).attributes
    assert attrs["llmtrace.stream.chunks"] == 1
    assert "gen_ai.response.finish_reasons" not in attrs
    assert attrs["gen_ai.usage.output_tokens"] >= 1


def test_break_without_closing_ends_when_dropped(server: GeminiServer, spans: SpanCapture) -> None:
    server.add(events=stream_events())
    stream = make_client(server).models.generate_content_stream(model=MODEL, contents="Hi")
    for _chunk in stream:
        break
    assert spans.spans == []
    del stream, _chunk
    gc.collect()
    span = the_span(spans)
    assert span.attributes["llmtrace.stream.abandoned"] is True
    assert span.status.status_code is StatusCode.UNSET


def test_never_iterated_sends_nothing(server: GeminiServer, spans: SpanCapture) -> None:
    server.add(events=stream_events())
    make_client(server).models.generate_content_stream(model=MODEL, contents="Hi")
    gc.collect()
    attrs = the_span(spans).attributes
    assert server.requests == []  # the SDK's stream is a generator: no request yet
    assert attrs["llmtrace.stream.chunks"] == 0
    assert "gen_ai.usage.input_tokens" not in attrs  # nothing was sent, nothing billed


def test_exception_in_the_callers_loop(server: GeminiServer, spans: SpanCapture) -> None:
    server.add(events=stream_events())
    boom = ValueError("user bug")
    with pytest.raises(ValueError) as raised:
        for _chunk in make_client(server).models.generate_content_stream(
            model=MODEL, contents="Hi"
        ):
            raise boom
    assert raised.value is boom
    del raised
    gc.collect()
    assert the_span(spans).attributes["llmtrace.stream.chunks"] == 1


def test_truncated_stream_fails_the_span_once(server: GeminiServer, spans: SpanCapture) -> None:
    server.add(events=stream_events(), truncate_after=2)
    stream = make_client(server).models.generate_content_stream(model=MODEL, contents="Hi")
    received = []
    with pytest.raises(Exception) as raised:
        for chunk in stream:
            received.append(chunk.text)
    assert received == ["Hello", " there"]
    span = the_span(spans)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(raised.value).__qualname__
    assert span.attributes["llmtrace.stream.chunks"] == 2


def test_error_event_in_the_stream_reaches_the_caller(
    server: GeminiServer, spans: SpanCapture
) -> None:
    error = {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}
    server.add(events=[*stream_events()[:1], error])
    stream = make_client(server).models.generate_content_stream(model=MODEL, contents="Hi")
    with pytest.raises(errors.ServerError, match="overloaded"):
        list(stream)
    span = the_span(spans)
    assert span.attributes["error.type"] == "ServerError"
    assert span.attributes["http.response.status_code"] == 503


def test_rate_limited_before_the_first_chunk(server: GeminiServer, spans: SpanCapture) -> None:
    server.add(
        {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}, status=429
    )
    stream = make_client(server).models.generate_content_stream(model=MODEL, contents="Hi")
    with pytest.raises(errors.ClientError) as raised:
        next(stream)
    assert raised.value.code == 429
    span = the_span(spans)
    assert span.attributes["error.type"] == "ClientError"
    assert span.attributes["http.response.status_code"] == 429


def test_stream_without_usage_is_estimated(server: GeminiServer, spans: SpanCapture) -> None:
    events = [response([{"text": w}], finish=None, response_id="r") for w in ("Hel", "lo")]
    events.append({"candidates": [{"finishReason": "STOP", "index": 0}], "newField": 1})
    server.add(events=events)
    chunks = list(make_client(server).models.generate_content_stream(model=MODEL, contents="Hi"))
    assert len(chunks) == 3
    attrs = the_span(spans).attributes
    assert attrs["llmtrace.usage.estimated"] is True
    assert attrs["gen_ai.usage.input_tokens"] > 0
    assert attrs["gen_ai.usage.output_tokens"] > 0
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


def test_streamed_function_call(server: GeminiServer, spans: SpanCapture) -> None:
    call = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
    server.add(events=[response([call], usage_metadata=usage(8, 4))])
    list(make_client(server).models.generate_content_stream(model=MODEL, contents="Weather?"))
    attrs = the_span(spans).attributes
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert attrs["llmtrace.response.tool_calls"] == ("get_weather",)
    parts = json.loads(attrs["gen_ai.output.messages"])[0]["parts"]
    assert parts == [
        {"type": "tool_call", "id": None, "name": "get_weather", "arguments": {"city": "Paris"}}
    ]


def get_weather(city: str) -> str:
    """Weather in a city."""
    return "sunny"


def test_automatic_function_calling_stream_adds_up_its_requests(
    server: GeminiServer, spans: SpanCapture
) -> None:
    call = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
    server.add(events=[response([call], usage_metadata=usage(10, 2), response_id="first")])
    server.add(events=stream_events(("Sunny", "!"), prompt=20, response_id="second"))
    stream = make_client(server).models.generate_content_stream(
        model=MODEL, contents="Weather in Paris?", config={"tools": [get_weather]}
    )
    texts = [chunk.text for chunk in stream]
    assert texts[-2:] == ["Sunny", "!"]
    assert len(server.requests) == 2  # the SDK called get_weather and asked again
    attrs = the_span(spans).attributes
    assert attrs["gen_ai.usage.input_tokens"] == 30
    assert attrs["gen_ai.usage.output_tokens"] == 4
    assert attrs["gen_ai.response.id"] == "first"


def test_automatic_continuation_is_not_counted_twice(
    server: GeminiServer, spans: SpanCapture
) -> None:
    """The SDK gives a continuation hop's chunks the usage of the hops before it."""
    first = response([{"text": "part one "}], finish="CONTINUATION", usage_metadata=usage(10, 4))
    first["candidates"][0]["continuationToken"] = "dG9rZW4="
    server.add(events=[first])
    server.add(events=stream_events(("part two",), prompt=12, response_id="hop-2"))
    stream = make_client(server).models.generate_content_stream(model=MODEL, contents="Hi")
    assert "".join(chunk.text for chunk in stream) == "part one part two"
    assert len(server.requests) == 2
    attrs = the_span(spans).attributes
    assert attrs["gen_ai.usage.input_tokens"] == 22
    assert attrs["gen_ai.usage.output_tokens"] == 5
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


def test_chat_send_message_stream(server: GeminiServer, spans: SpanCapture) -> None:
    server.add(events=stream_events())
    chat = make_client(server).chats.create(model=MODEL)
    texts = [chunk.text for chunk in chat.send_message_stream("Hi")]
    check_full_stream(the_span(spans), texts)
