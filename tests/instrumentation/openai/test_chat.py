"""Chat completions through the real client: exact attributes, content, errors, patch life."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, StatusCode

import llmtrace
from llmtrace.instrumentation.openai import (
    OpenAIInstrumentor,
    instrument_openai,
    is_instrumented,
    uninstrument_openai,
)
from tests.support import openai_bodies as bodies
from tests.support.openai_server import OPENAI_MAJOR, hx, json_response, make_client

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Capital of France?"},
]


def own(span: Any) -> dict[str, Any]:
    """The span's attributes without the cost ones (computed by llmtrace._genai.pricing)."""
    return {
        k: v
        for k, v in span.attributes.items()
        if not k.startswith(("gen_ai.usage.cost", "llmtrace.cost"))
    }


def test_chat_completion_attributes_exact(captured):
    client, recorder = make_client(json_response(bodies.chat()))
    result = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        temperature=0.2,
        top_p=0.9,
        max_tokens=50,
        seed=7,
        stop=["\n\n"],
        n=1,
        frequency_penalty=0.1,
        presence_penalty=0.0,
        service_tier="default",
        response_format={"type": "json_object"},
    )
    assert result.choices[0].message.content == "Paris is the capital of France."
    span = captured.find("chat gpt-4o-mini")
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert own(span) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ("\n\n",),
        "gen_ai.request.frequency_penalty": 0.1,
        "gen_ai.request.presence_penalty": 0.0,
        "gen_ai.output.type": "json",
        "openai.request.service_tier": "default",
        "server.address": "api.openai.com",
        "server.port": 443,
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "gen_ai.response.finish_reasons": ("stop",),
        "openai.response.system_fingerprint": "fp_06737a9306",
        "openai.response.service_tier": "default",
        "gen_ai.usage.input_tokens": 25,
        "gen_ai.usage.output_tokens": 9,
        "gen_ai.usage.cache_read.input_tokens": 8,
        "gen_ai.usage.reasoning.output_tokens": 2,
        "gen_ai.usage.audio.input_tokens": 0,
        "gen_ai.usage.audio.output_tokens": 0,
        "openai.api.type": "chat_completions",
    }
    assert len(captured.spans) == 1
    assert "stream_options" not in recorder.bodies[0]


def test_content_not_recorded_when_capture_is_off(captured):
    client, _ = make_client(json_response(bodies.chat()))
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    keys = set(captured.find("chat gpt-4o-mini").attributes)
    assert not keys & {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.definitions",
    }


def test_content_capture_follows_the_conventions(captured_content):
    client, _ = make_client(json_response(bodies.chat()))
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    span = captured_content.find("chat gpt-4o-mini")
    assert json.loads(span.attributes["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "You are terse."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]},
    ]
    assert json.loads(span.attributes["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "finish_reason": "stop",
            "parts": [{"type": "text", "content": "Paris is the capital of France."}],
        },
    ]


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
        },
    }
]


def test_tool_calls_requested_by_the_model(captured_content):
    client, _ = make_client(
        json_response(bodies.chat(message=bodies.TOOL_CALL_MESSAGE, finish_reason="tool_calls"))
    )
    history = [
        *MESSAGES,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"location":"Lyon"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "rainy, 14C"},
    ]
    client.chat.completions.create(model="gpt-4o-mini", messages=history, tools=TOOLS)
    span = captured_content.find("chat gpt-4o-mini")
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert span.attributes["llmtrace.response.tool_calls"] == ("get_weather", "get_time")
    inputs = json.loads(span.attributes["gen_ai.input.messages"])
    assert inputs[2] == {
        "role": "assistant",
        "parts": [
            {
                "type": "tool_call",
                "id": "call_1",
                "name": "get_weather",
                "arguments": {"location": "Lyon"},
            }
        ],
    }
    assert inputs[3] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_1", "response": "rainy, 14C"}],
    }
    outputs = json.loads(span.attributes["gen_ai.output.messages"])
    assert outputs == [
        {
            "role": "assistant",
            "finish_reason": "tool_call",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_VSPygqKTWdrhaFErNvMV18Yl",
                    "name": "get_weather",
                    "arguments": {"location": "Paris"},
                },
                {
                    "type": "tool_call",
                    "id": "call_2nd",
                    "name": "get_time",
                    "arguments": {"tz": "Europe/Paris"},
                },
            ],
        }
    ]
    assert json.loads(span.attributes["gen_ai.tool.definitions"]) == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
        }
    ]


def test_tool_call_names_recorded_without_content_capture(captured):
    client, _ = make_client(
        json_response(bodies.chat(message=bodies.TOOL_CALL_MESSAGE, finish_reason="tool_calls"))
    )
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    span = captured.find("chat gpt-4o-mini")
    assert span.attributes["llmtrace.response.tool_calls"] == ("get_weather", "get_time")
    assert "gen_ai.output.messages" not in span.attributes


def test_refusal_and_several_choices(captured_content):
    client, _ = make_client(
        json_response(bodies.chat(message=bodies.REFUSAL_MESSAGE)),
        json_response(bodies.chat(choices=bodies.TWO_CHOICES)),
    )
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, n=2)
    refusal = captured_content.find("chat gpt-4o-mini")
    assert json.loads(refusal.attributes["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "refusal", "content": "I can't help with that."}
    ]
    several = captured_content.find("chat gpt-4o")
    assert several.attributes["gen_ai.request.choice.count"] == 2
    assert several.attributes["gen_ai.response.finish_reasons"] == ("stop", "length")
    outputs = json.loads(several.attributes["gen_ai.output.messages"])
    assert [m["finish_reason"] for m in outputs] == ["stop", "length"]


def test_inline_images_and_audio_are_replaced_by_a_reference(captured_content):
    image = "data:image/png;base64," + "iVBORw0KGgo" * 5000
    audio = "UklGRiQAAABXQVZFZm10" * 2000
    client, _ = make_client(json_response(bodies.chat()))
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": image}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                    {"type": "input_audio", "input_audio": {"data": audio, "format": "wav"}},
                ],
            }
        ],
    )
    text = captured_content.find("chat gpt-4o-mini").attributes["gen_ai.input.messages"]
    assert "iVBORw0KGgo" not in text and "UklGRiQ" not in text
    parts = json.loads(text)[0]["parts"]
    assert parts == [
        {"type": "text", "content": "What is this?"},
        {
            "type": "blob",
            "modality": "image",
            "mime_type": "image/png",
            "content": "<elided base64 image/png, 41250 bytes>",
        },
        {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"},
        {
            "type": "blob",
            "modality": "audio",
            "mime_type": "audio/wav",
            "content": "<elided base64 audio/wav, 30000 bytes>",
        },
    ]


def test_content_stays_within_the_size_budget(captured_content):
    from llmtrace._runtime import runtime

    runtime.max_attribute_bytes = 512
    client, _ = make_client(json_response(bodies.chat("word " * 2000)))
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x" * 5000}]
    )
    span = captured_content.find("chat gpt-4o-mini")
    for key in ("gen_ai.input.messages", "gen_ai.output.messages"):
        assert len(span.attributes[key].encode()) <= 512
        json.loads(span.attributes[key])


def test_parse_with_a_pydantic_format(captured):
    pydantic = pytest.importorskip("pydantic")

    class Capital(pydantic.BaseModel):
        city: str

    client, _ = make_client(json_response(bodies.chat('{"city": "Paris"}')))
    result = client.chat.completions.parse(
        model="gpt-4o-mini", messages=MESSAGES, response_format=Capital
    )
    assert result.choices[0].message.parsed == Capital(city="Paris")
    span = captured.find("chat gpt-4o-mini")
    assert span.attributes["gen_ai.output.type"] == "json"
    assert span.attributes["gen_ai.usage.input_tokens"] == 25


def test_with_raw_response(captured):
    client, _ = make_client(json_response(bodies.chat()))
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(captured.spans) == 1  # finished at once: the body is already read
    assert raw.headers["x-request-id"] == "req_1"
    assert raw.parse().choices[0].message.content == "Paris is the capital of France."
    span = captured.find("chat gpt-4o-mini")
    assert span.attributes["gen_ai.response.id"] == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert span.attributes["gen_ai.usage.output_tokens"] == 9


def test_with_streaming_response(captured):
    client, _ = make_client(json_response(bodies.chat()))
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES
    ) as response:
        assert captured.spans == []  # the body is not read yet
        completion = response.parse()
    assert completion.id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    span = captured.find("chat gpt-4o-mini")
    assert span.attributes["gen_ai.usage.input_tokens"] == 25


def test_with_streaming_response_read_as_json_or_not_at_all(captured):
    client, _ = make_client(json_response(bodies.chat()))
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=MESSAGES
    ) as response:
        assert response.json()["id"] == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=MESSAGES
    ) as response:
        assert response.http_response.status_code == 200
    assert captured.find("chat gpt-4o-mini").attributes["gen_ai.usage.input_tokens"] == 25
    unread = captured.find("chat gpt-4o")
    assert "gen_ai.response.id" not in unread.attributes
    assert unread.end_time is not None


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            400,
            {"error": {"message": "bad", "type": "invalid_request_error"}},
            openai.BadRequestError,
        ),
        (
            401,
            {"error": {"message": "no key", "type": "invalid_request_error"}},
            openai.AuthenticationError,
        ),
        (429, bodies.ERROR_429, openai.RateLimitError),
        (500, bodies.ERROR_500, openai.InternalServerError),
    ],
)
def test_api_errors_are_recorded_and_reraised_unchanged(captured, status, body, error):
    client, _ = make_client(json_response(body, status))
    seen: list[BaseException] = []
    original = openai.OpenAI._make_status_error

    def remember(self: Any, *args: Any, **kwargs: Any) -> Any:
        exc = original(self, *args, **kwargs)
        seen.append(exc)
        return exc

    openai.OpenAI._make_status_error = remember  # type: ignore[method-assign]
    try:
        with pytest.raises(error) as raised:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    finally:
        openai.OpenAI._make_status_error = original  # type: ignore[method-assign]
    assert raised.value is seen[0]
    span = captured.find("chat gpt-4o-mini")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == error.__name__
    assert span.attributes["http.response.status_code"] == status
    assert span.events[0].name == "exception"


def test_timeout_is_recorded_without_a_status_code(captured):
    def timeout(request: Any) -> Any:
        raise hx.ReadTimeout("timed out", request=request)

    client, _ = make_client(timeout)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    span = captured.find("chat gpt-4o-mini")
    assert span.attributes["error.type"] == "APITimeoutError"
    assert "http.response.status_code" not in span.attributes


def test_nested_under_a_decorated_parent(captured):
    client, _ = make_client(json_response(bodies.chat()))

    @llmtrace.trace(name="answer", kind="workflow")
    def answer() -> str:
        return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).id

    answer()
    parent = captured.find("invoke_workflow answer")
    assert [s.name for s in captured.children(parent)] == ["chat gpt-4o-mini"]


def test_suppression_gives_no_span(captured):
    client, _ = make_client(json_response(bodies.chat()))
    with suppress_instrumentation():
        result = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert result.id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert captured.spans == []


def test_other_endpoints_pass_through_without_a_span(captured):
    client, _ = make_client(
        json_response(
            {
                "object": "list",
                "data": [{"id": "gpt-4o", "object": "model", "created": 1, "owned_by": "openai"}],
            }
        )
    )
    assert [m.id for m in client.models.list()] == ["gpt-4o"]
    assert captured.spans == []


def test_no_tracer_means_no_work(monkeypatch):
    from llmtrace._runtime import runtime
    from llmtrace.instrumentation.openai import _instrumentor

    monkeypatch.setattr(runtime, "tracer", lambda: None)
    monkeypatch.setattr(_instrumentor, "invocation_for", None)  # would raise if called
    client, _ = make_client(json_response(bodies.chat()))
    assert client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).id


def test_uninstrument_restores_originals_and_instrumenting_twice_is_harmless(captured):
    from openai._base_client import AsyncAPIClient, SyncAPIClient

    uninstrument_openai()
    originals = (SyncAPIClient.__dict__["request"], AsyncAPIClient.__dict__["request"])
    assert not is_instrumented()
    instrument_openai()
    instrument_openai()
    assert is_instrumented()
    assert SyncAPIClient.__dict__["request"].__wrapped__ is originals[0]
    client, _ = make_client(json_response(bodies.chat()))
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(captured.spans) == 1  # one span, not two
    uninstrument_openai()
    uninstrument_openai()
    assert (SyncAPIClient.__dict__["request"], AsyncAPIClient.__dict__["request"]) == originals
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(captured.spans) == 1


def test_instrumentor_entry_point_is_registered():
    from importlib.metadata import entry_points

    found = {e.name: e for e in entry_points(group="opentelemetry_instrumentor")}
    assert found["llmtrace_openai"].load() is OpenAIInstrumentor


def test_internal_error_is_swallowed_and_the_call_still_answers(captured, lenient, monkeypatch):
    from llmtrace.instrumentation.openai import _instrumentor

    def broken(*args: Any) -> None:
        raise RuntimeError("bug in llmtrace")

    monkeypatch.setattr(_instrumentor, "apply_response", broken)
    client, _ = make_client(json_response(bodies.chat()))
    result = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert result.id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    span = captured.find("chat gpt-4o-mini")
    assert span.end_time is not None and span.status.status_code is StatusCode.UNSET


async def test_async_chat_completion(captured):
    client, _ = make_client(json_response(bodies.chat()), asynchronous=True)

    @llmtrace.trace(name="ask")
    async def ask() -> Any:
        return await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    result = await ask()
    assert result.choices[0].finish_reason == "stop"
    span = captured.find("chat gpt-4o-mini")
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 8
    assert captured.parent_of(span).name == "ask"


async def test_async_error_is_reraised(captured):
    client, _ = make_client(json_response(bodies.ERROR_429, 429), asynchronous=True)
    with pytest.raises(openai.RateLimitError):
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    span = captured.find("chat gpt-4o-mini")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["http.response.status_code"] == 429


async def test_async_raw_and_streaming_response(captured):
    client, _ = make_client(json_response(bodies.chat()), asynchronous=True)
    raw = await client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES
    )
    assert raw.parse().id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    async with client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=MESSAGES
    ) as response:
        completion = await response.parse()
    assert completion.usage.total_tokens == 34
    assert captured.find("chat gpt-4o").attributes["gen_ai.usage.output_tokens"] == 9
    assert len(captured.spans) == 2


def test_openai_major_is_supported():
    assert OPENAI_MAJOR >= 1
