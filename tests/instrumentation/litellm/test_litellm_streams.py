"""LiteLLM streams (CustomStreamWrapper), sync and async: the caller sees the chunks it
would see uninstrumented, usage comes from the stream, the span ends exactly once."""

from __future__ import annotations

import gc
from typing import Any

import litellm
import pytest

from llmtrace import semconv as A
from llmtrace.instrumentation.litellm import instrument_litellm, uninstrument_litellm
from llmtrace.instrumentation.openai import allow_usage_hosts
from llmtrace.testing import SpanCapture
from tests.support.litellm_bodies import USER, anthropic_events, chat_events
from tests.support.openai_server import LocalServer


def _anthropic_kwargs(server: LocalServer) -> dict[str, Any]:
    return {
        "model": "anthropic/claude-3-5-haiku-latest",
        "messages": USER,
        "api_base": f"http://127.0.0.1:{server.port}",
        "api_key": "sk-ant-test",
        "stream": True,
    }


def _openai_kwargs(server: LocalServer) -> dict[str, Any]:
    return {
        "model": "openai/gpt-4o-mini",
        "messages": USER,
        "api_base": server.base_url,
        "api_key": "sk-test",
        "max_retries": 0,
        "stream": True,
    }


def _seen(chunks: list[Any]) -> list[tuple[Any, ...]]:
    """What a caller sees of each chunk: its text, finish reason and usage."""
    seen = []
    for chunk in chunks:
        choice = chunk.choices[0] if chunk.choices else None
        text = choice.delta.content if choice is not None else None
        reason = choice.finish_reason if choice is not None else None
        seen.append((text, reason, getattr(chunk, "usage", None) is not None))
    return seen


def _uninstrumented(kwargs: dict[str, Any]) -> list[tuple[Any, ...]]:
    uninstrument_litellm()
    try:
        return _seen(list(litellm.completion(**kwargs)))
    finally:
        instrument_litellm()


def _llm_spans(captured: SpanCapture) -> list[Any]:
    return [s for s in captured.spans if s.attributes.get(A.GEN_AI_OPERATION_NAME)]


def test_anthropic_stream_usage_from_the_stream(server: LocalServer, captured: SpanCapture) -> None:
    server.add(events=anthropic_events())
    expected = _uninstrumented(_anthropic_kwargs(server))
    captured.clear()
    chunks = list(litellm.completion(**_anthropic_kwargs(server)))
    assert _seen(chunks) == expected  # the usage chunk llmtrace asked for stays hidden
    assert "".join(t for t, _, _ in expected if t) == "Hi there"
    (span,) = _llm_spans(captured)
    attrs = span.attributes
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[A.GEN_AI_REQUEST_STREAM] is True
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 125  # cache tokens counted once
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 100
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert A.LLMTRACE_USAGE_ESTIMATED not in attrs
    assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[A.GEN_AI_USAGE_COST_AMOUNT] > 0
    assert A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK in attrs


def test_callers_own_stream_options_are_kept(server: LocalServer, captured: SpanCapture) -> None:
    server.add(events=anthropic_events())
    kwargs = {**_anthropic_kwargs(server), "stream_options": {"include_usage": True}}
    chunks = list(litellm.completion(**kwargs))
    assert chunks[-1].usage is not None  # asked for by the caller: delivered
    (span,) = _llm_spans(captured)
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 125


def test_openai_compatible_host_is_not_sent_stream_options(
    server: LocalServer, captured: SpanCapture
) -> None:
    server.add(events=chat_events(usage=False))
    chunks = list(litellm.completion(**_openai_kwargs(server)))
    assert "".join(t for t, _, _ in _seen(chunks) if t) == "Hello"
    assert "stream_options" not in server.requests[-1][1]
    (span,) = _llm_spans(captured)  # the openai SDK's stream beneath opens no span
    assert span.attributes[A.LLMTRACE_USAGE_ESTIMATED] is True


def test_allowed_host_reports_usage(server: LocalServer, captured: SpanCapture) -> None:
    allow_usage_hosts([f"127.0.0.1:{server.port}"])
    server.add(events=chat_events(usage=False))
    expected = _uninstrumented(_openai_kwargs(server))
    server.script.clear()
    server.add(events=chat_events(usage=True))
    captured.clear()
    chunks = list(litellm.completion(**_openai_kwargs(server)))
    assert server.requests[-1][1]["stream_options"] == {"include_usage": True}
    assert _seen(chunks) == expected
    (span,) = _llm_spans(captured)
    assert span.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 9
    assert span.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert span.attributes[A.LLMTRACE_STREAM_CHUNKS] == len(chunks)


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
async def test_async_stream(server: LocalServer, captured: SpanCapture, provider: str) -> None:
    if provider == "anthropic":
        server.add(events=anthropic_events())
        kwargs = _anthropic_kwargs(server)
    else:
        server.add(events=chat_events(usage=False))
        kwargs = _openai_kwargs(server)
    stream = await litellm.acompletion(**kwargs)
    texts = [c.choices[0].delta.content async for c in stream if c.choices]
    assert "".join(t for t in texts if t) in ("Hi there", "Hello")
    (span,) = _llm_spans(captured)
    assert span.attributes[A.GEN_AI_REQUEST_STREAM] is True
    assert span.attributes[A.GEN_AI_USAGE_OUTPUT_TOKENS] > 0


def test_early_break_ends_the_span_once(server: LocalServer, captured: SpanCapture) -> None:
    server.add(events=anthropic_events(("a", "b", "c", "d")))
    stream = litellm.completion(**_anthropic_kwargs(server))
    for _ in stream:
        break
    assert _llm_spans(captured) == []  # still open: the caller may read on
    del stream
    gc.collect()
    (span,) = _llm_spans(captured)
    assert span.attributes[A.LLMTRACE_STREAM_ABANDONED] is True


def test_truncated_stream_ends_the_span(server: LocalServer, captured: SpanCapture) -> None:
    server.add(events=anthropic_events(), truncate_after=3)
    raised: BaseException | None = None
    try:
        for _ in litellm.completion(**_anthropic_kwargs(server)):
            pass
    except Exception as exc:
        raised = exc
    gc.collect()
    (span,) = _llm_spans(captured)
    if raised is not None:
        assert span.attributes[A.ERROR_TYPE] == type(raised).__qualname__
    assert span.end_time is not None
