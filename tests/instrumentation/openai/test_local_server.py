"""The real network stack: the SDK's own HTTP client talking to a server on 127.0.0.1."""

from __future__ import annotations

import openai
import pytest
from opentelemetry.trace import StatusCode

from tests.support import openai_bodies as bodies

MESSAGES = [{"role": "user", "content": "Hi"}]


def client_for(server, cls=openai.OpenAI, **kwargs):  # type: ignore[no-untyped-def]
    return cls(api_key="sk-test", base_url=server.base_url, max_retries=0, **kwargs)


def test_chat_over_http(captured, local_server):
    local_server.add(bodies.chat())
    with client_for(local_server) as client:
        client.chat.completions.create(model="llama3", messages=MESSAGES)
    assert local_server.requests[0][0] == "/v1/chat/completions"
    attrs = captured.find("chat llama3").attributes
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == local_server.port
    assert attrs["gen_ai.provider.name"] == "openai_compatible"
    assert attrs["gen_ai.usage.input_tokens"] == 25


async def test_async_stream_over_http(captured, local_server):
    local_server.add(events=bodies.sse(bodies.chat_stream(usage=False)))
    async with client_for(local_server, openai.AsyncOpenAI) as client:
        stream = await client.chat.completions.create(
            model="llama3", messages=MESSAGES, stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "Hello there!"
    assert "stream_options" not in local_server.requests[0][1]
    attrs = captured.find("chat llama3").attributes
    assert attrs["llmtrace.usage.estimated"] is True
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


def test_server_error_over_http(captured, local_server):
    local_server.add(bodies.ERROR_500, status=500)
    with client_for(local_server) as client, pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="llama3", messages=MESSAGES)
    span = captured.find("chat llama3")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["http.response.status_code"] == 500


def test_timeout_over_http(captured, local_server):
    local_server.add(bodies.chat(), delay=0.5)
    with client_for(local_server, timeout=0.1) as client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="llama3", messages=MESSAGES)
    assert captured.find("chat llama3").attributes["error.type"] == "APITimeoutError"


def test_truncated_stream_over_http(captured, local_server):
    local_server.add(events=bodies.sse(bodies.chat_stream(usage=False)), truncate_after=2)
    received = []
    with client_for(local_server) as client:
        stream = client.chat.completions.create(model="llama3", messages=MESSAGES, stream=True)
        with pytest.raises(Exception) as raised:
            for chunk in stream:
                received.append(chunk)
    assert len(received) == 2
    span = captured.find("chat llama3")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == type(raised.value).__qualname__
    assert span.attributes["llmtrace.stream.chunks"] == 2
