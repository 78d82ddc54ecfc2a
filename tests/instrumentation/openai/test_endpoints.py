"""Legacy completions, embeddings, the Responses API and Azure through the real client."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import openai_bodies as bodies
from tests.support.openai_server import json_response, make_client


def test_legacy_completion(captured_content):
    client, _ = make_client(json_response(bodies.COMPLETION))
    client.completions.create(
        model="gpt-3.5-turbo-instruct",
        prompt="Say this is a test",
        max_tokens=7,
        temperature=0,
        stop="\n",
    )
    span = captured_content.find("text_completion gpt-3.5-turbo-instruct")
    attrs = span.attributes
    assert attrs["gen_ai.operation.name"] == "text_completion"
    assert attrs["gen_ai.request.max_tokens"] == 7
    assert attrs["gen_ai.request.temperature"] == 0.0
    assert attrs["gen_ai.request.stop_sequences"] == ("\n",)
    assert attrs["gen_ai.response.finish_reasons"] == ("length",)
    assert attrs["gen_ai.usage.input_tokens"] == 5 and attrs["gen_ai.usage.output_tokens"] == 7
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say this is a test"}]}
    ]
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "finish_reason": "length",
            "parts": [{"type": "text", "content": "\n\nThis is indeed a test"}],
        }
    ]


@pytest.mark.parametrize("encoding_format", ["float", None])
def test_embeddings(captured, encoding_format):
    client, recorder = make_client(json_response(bodies.EMBEDDINGS))
    kwargs: dict[str, Any] = {"encoding_format": encoding_format} if encoding_format else {}
    result = client.embeddings.create(
        model="text-embedding-3-small", input=["first", "second"], **kwargs
    )
    assert len(result.data) == 2
    span = captured.find("embeddings text-embedding-3-small")
    attrs = span.attributes
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.embeddings.dimension.count"] == 4
    assert attrs["gen_ai.usage.input_tokens"] == 8
    assert "gen_ai.usage.output_tokens" not in attrs
    sent = recorder.bodies[0].get("encoding_format")
    assert attrs.get("gen_ai.request.encoding_formats") == ((sent,) if sent else None)


def test_embeddings_in_base64(captured):
    import base64
    import struct

    vector = base64.b64encode(struct.pack("<6f", *range(6))).decode()
    body = {**bodies.EMBEDDINGS, "data": [{"object": "embedding", "index": 0, "embedding": vector}]}
    client, _ = make_client(json_response(body))
    client.embeddings.create(model="text-embedding-3-small", input="x", encoding_format="base64")
    span = captured.find("embeddings text-embedding-3-small")
    assert span.attributes["gen_ai.embeddings.dimension.count"] == 6


def test_responses_create(captured_content):
    client, _ = make_client(json_response(bodies.response()))
    result = client.responses.create(
        model="gpt-4o",
        instructions="Be brief.",
        max_output_tokens=200,
        temperature=0.7,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Describe this"},
                    {"type": "input_image", "image_url": "data:image/jpeg;base64," + "A" * 4000},
                ],
            }
        ],
    )
    assert result.output_text == "A unicorn slept."
    span = captured_content.find("chat gpt-4o")
    attrs = span.attributes
    assert attrs["gen_ai.request.max_tokens"] == 200
    assert attrs["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attrs["gen_ai.response.id"].startswith("resp_")
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["openai.response.service_tier"] == "default"
    assert attrs["gen_ai.usage.input_tokens"] == 36
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 10
    assert attrs["gen_ai.usage.output_tokens"] == 87
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 64
    assert json.loads(attrs["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {
            "role": "user",
            "parts": [
                {"type": "text", "content": "Describe this"},
                {
                    "type": "blob",
                    "modality": "image",
                    "mime_type": "image/jpeg",
                    "content": "<elided base64 image/jpeg, 3000 bytes>",
                },
            ],
        }
    ]
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "finish_reason": "stop",
            "parts": [
                {"type": "reasoning", "content": "Thinking about unicorns."},
                {"type": "text", "content": "A unicorn slept."},
            ],
        }
    ]


def test_responses_function_call_and_tool_output(captured_content):
    client, _ = make_client(json_response(bodies.response(output=[bodies.FUNCTION_CALL_ITEM])))
    client.responses.create(
        model="gpt-4o",
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "type": "function_call",
                "call_id": "call_0",
                "name": "get_weather",
                "arguments": '{"location":"Lyon"}',
            },
            {"type": "function_call_output", "call_id": "call_0", "output": "sunny"},
        ],
        tools=[
            {"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
            {"type": "web_search"},
        ],
    )
    attrs = captured_content.find("chat gpt-4o").attributes
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)
    assert attrs["llmtrace.response.tool_calls"] == ("get_weather",)
    inputs = json.loads(attrs["gen_ai.input.messages"])
    assert inputs[1]["parts"][0]["arguments"] == {"location": "Lyon"}
    assert inputs[2] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_0", "response": "sunny"}],
    }
    assert json.loads(attrs["gen_ai.tool.definitions"]) == [
        {"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
        {"type": "web_search"},
    ]


def test_responses_incomplete(captured):
    body = bodies.response(status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    client, _ = make_client(json_response(body))
    client.responses.create(model="gpt-4o", input="Long story", max_output_tokens=5)
    span = captured.find("chat gpt-4o")
    assert span.attributes["gen_ai.response.finish_reasons"] == ("length",)


def test_responses_parse(captured):
    pydantic = pytest.importorskip("pydantic")

    class Story(pydantic.BaseModel):
        title: str

    output = [
        {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": '{"title": "Unicorns"}', "annotations": []}
            ],
        }
    ]
    client, _ = make_client(json_response(bodies.response(output=output)))
    parsed = client.responses.parse(model="gpt-4o", input="A title", text_format=Story)
    assert parsed.output_parsed == Story(title="Unicorns")
    span = captured.find("chat gpt-4o")
    assert span.attributes["gen_ai.output.type"] == "json"
    assert span.attributes["gen_ai.usage.input_tokens"] == 36


async def test_async_responses_and_embeddings(captured):
    client, _ = make_client(json_response(bodies.response()), asynchronous=True)
    await client.responses.create(model="gpt-4o", input="Hi")
    client2, _ = make_client(json_response(bodies.EMBEDDINGS), asynchronous=True)
    await client2.embeddings.create(model="text-embedding-3-small", input="x")
    assert captured.find("chat gpt-4o").attributes["gen_ai.usage.output_tokens"] == 87
    assert (
        captured.find("embeddings text-embedding-3-small").attributes[
            "gen_ai.embeddings.dimension.count"
        ]
        == 4
    )


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_azure(captured, asynchronous):
    client, recorder = make_client(
        json_response(bodies.chat()), azure=True, asynchronous=asynchronous
    )
    call = client.chat.completions.create(
        model="my-gpt4o-deployment", messages=[{"role": "user", "content": "Hi"}], stream=False
    )
    if asynchronous:
        await call
    assert "/deployments/my-gpt4o-deployment/chat/completions" in str(recorder.requests[0].url)
    attrs = captured.find("chat my-gpt4o-deployment").attributes
    assert attrs["gen_ai.provider.name"] == "azure.ai.openai"
    assert attrs["server.address"] == "contoso.openai.azure.com"
    assert attrs["server.port"] == 443
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"


@pytest.mark.parametrize(
    ("base_url", "provider", "port"),
    [
        ("https://openrouter.ai/api/v1", "openrouter", 443),
        ("https://api.groq.com/openai/v1", "groq", 443),
        ("https://api.deepseek.com", "deepseek", 443),
        ("http://localhost:11434/v1", "ollama", 11434),
        ("http://localhost:1234/v1", "lm_studio", 1234),
        ("http://gpu-box:8000/v1", "vllm", 8000),
        ("https://llm.internal.example/v1", "openai_compatible", 443),
    ],
)
def test_provider_from_base_url(captured, base_url, provider, port):
    client, _ = make_client(json_response(bodies.chat()), base_url=base_url)
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
    attrs = captured.find("chat m").attributes
    assert attrs["gen_ai.provider.name"] == provider
    assert attrs["server.port"] == port


def test_a_client_moved_to_another_server_is_followed(captured):
    """The server comes from the client's public ``base_url`` on every call: a client
    pointed elsewhere after its first call is labelled by where its calls now go."""
    client, recorder = make_client(json_response(bodies.chat()), base_url="http://gpu-box:8000/v1")
    ask = [{"role": "user", "content": "Hi"}]
    client.chat.completions.create(model="first", messages=ask)
    client.base_url = "https://api.groq.com/openai/v1"
    client.chat.completions.create(model="second", messages=ask)
    assert recorder.requests[1].url.host == "api.groq.com"
    first, second = captured.find("chat first").attributes, captured.find("chat second").attributes
    assert (first["gen_ai.provider.name"], first["server.port"]) == ("vllm", 8000)
    assert (second["gen_ai.provider.name"], second["server.address"]) == ("groq", "api.groq.com")
    assert second["server.port"] == 443


def test_respx_mocked_httpx_client(captured):
    """respx intercepts the classic httpx client (every major accepts one as http_client)."""
    httpx = pytest.importorskip("httpx")
    respx = pytest.importorskip("respx")
    import openai

    with respx.mock(base_url="https://api.openai.com/v1") as router:
        route = router.post("/chat/completions").respond(json=bodies.chat())
        client = openai.OpenAI(api_key="sk-test", http_client=httpx.Client(), max_retries=0)
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
        )
    assert route.called
    assert captured.find("chat gpt-4o-mini").attributes["gen_ai.usage.input_tokens"] == 25
