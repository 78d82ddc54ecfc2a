"""The pure phases on plain data: request/response extraction, providers, unknown shapes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmtrace._genai.lifecycle import LLMInvocation
from llmtrace.instrumentation.openai import _messages, _request, _response, _stream
from llmtrace.instrumentation.openai._providers import Server, detect_provider
from llmtrace.instrumentation.openai._request import CHAT, COMPLETION, EMBEDDINGS, RESPONSES
from tests.support import openai_bodies as bodies
from tests.support.openai_server import json_response, make_client

SERVER = Server("openai", "api.openai.com", 443, True)
ENDPOINTS = [
    _request.endpoint_for("post", u)
    for u in ("/chat/completions", "/completions", "/embeddings", "/responses")
]


def test_endpoint_lookup():
    assert _request.endpoint_for("post", "/chat/completions").kind == CHAT
    assert _request.endpoint_for("POST", "/deployments/gpt/chat/completions").kind == CHAT
    assert _request.endpoint_for("post", "/deployments/gpt/completions").kind == COMPLETION
    assert _request.endpoint_for("post", "/embeddings").kind == EMBEDDINGS
    assert _request.endpoint_for("post", "/responses").kind == RESPONSES
    assert _request.endpoint_for("get", "/responses") is None
    assert _request.endpoint_for("post", "/responses/resp_1/cancel") is None
    assert _request.endpoint_for("post", "/files") is None
    assert _request.endpoint_for(None, None) is None


def test_request_extraction_is_typed_and_lenient():
    endpoint = _request.endpoint_for("post", "/chat/completions")
    inv = _request.invocation_for(
        endpoint,
        {
            "model": "gpt-4o",
            "temperature": "hot",
            "top_p": True,
            "max_completion_tokens": 9,
            "max_tokens": 3,
            "stop": [1, 2],
            "n": 2.5,
            "service_tier": "auto",
            "stream": "yes",
        },
        SERVER,
    )
    assert inv.request_model == "gpt-4o"
    assert (inv.temperature, inv.top_p, inv.stop_sequences, inv.choice_count) == (
        None,
        None,
        None,
        None,
    )
    assert inv.max_tokens == 9  # max_completion_tokens wins over the deprecated max_tokens
    assert inv.request_service_tier is None  # "auto" is not recorded
    assert inv.stream is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"max_tokens": 3}, 3),
        ({"max_completion_tokens": 9}, 9),
        ({"max_completion_tokens": 9, "max_tokens": 3}, 9),  # in either order
        ({"max_tokens": 3, "max_completion_tokens": 9}, 9),
        ({"max_completion_tokens": None, "max_tokens": 3}, 3),  # null: the older name counts
        ({"max_completion_tokens": "many", "max_tokens": 3}, 3),
        ({"max_tokens": None}, None),
    ],
)
def test_max_tokens_from_either_name(body: dict[str, Any], expected: int | None) -> None:
    inv = _request.invocation_for(ENDPOINTS[0], {"model": "gpt-4o", **body}, SERVER)
    assert inv.max_tokens == expected


def test_only_the_parameters_of_the_endpoint_are_recorded() -> None:
    body = {"model": "m", "temperature": 0.5, "seed": 7, "max_output_tokens": 64, "x": 1}
    chat = _request.invocation_for(ENDPOINTS[0], body, SERVER)
    responses = _request.invocation_for(ENDPOINTS[3], body, SERVER)
    embeddings = _request.invocation_for(ENDPOINTS[2], body, SERVER)
    assert (chat.temperature, chat.seed, chat.max_tokens) == (0.5, 7, None)
    assert (responses.temperature, responses.seed, responses.max_tokens) == (0.5, None, 64)
    assert (embeddings.temperature, embeddings.seed, embeddings.max_tokens) == (None, None, None)
    assert chat.attributes == {"openai.api.type": "chat_completions"}
    assert responses.attributes == {"openai.api.type": "responses"}
    assert embeddings.attributes == {}


def test_provider_detection_table():
    assert detect_provider("api.openai.com", None) == "openai"
    assert detect_provider("Contoso.OpenAI.Azure.com", None) == "azure.ai.openai"
    assert detect_provider("x.cognitiveservices.azure.com", None) == "azure.ai.openai"
    assert detect_provider("anything", None, azure_client=True) == "azure.ai.openai"
    assert detect_provider("api.groq.com", None) == "groq"
    assert detect_provider("localhost", 11434) == "ollama"
    assert detect_provider("example.org", None) == "openai_compatible"


def test_media_references_never_copy_the_payload():
    part = _messages.content_part(
        {"type": "image_url", "image_url": {"url": "data:image/webp;base64," + "Q" * 400}}
    )
    assert part == {
        "type": "blob",
        "modality": "image",
        "mime_type": "image/webp",
        "content": "<elided base64 image/webp, 300 bytes>",
    }
    file_part = _messages.content_part(
        {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBER", "name": "a"}}
    )
    assert file_part["content"] == "<elided base64 application/pdf, 3 bytes>"
    assert _messages.content_part({"type": "file", "file": {"file_id": "file-1"}}) == {
        "type": "file",
        "modality": "document",
        "file_id": "file-1",
    }
    assert _messages.content_part({"type": "brand_new_part", "x": 1}) == {"type": "brand_new_part"}


def test_embedding_dimensions_from_floats_or_base64():
    assert _response.embedding_dimensions([{"embedding": [0.1] * 1536}]) == 1536
    assert _response.embedding_dimensions([{"embedding": "AAAAAAAAAAAAAAAA"}]) == 3
    assert _response.embedding_dimensions([]) is None
    assert _response.embedding_dimensions("nope") is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "model",
                    "choices",
                    "message",
                    "delta",
                    "content",
                    "tool_calls",
                    "function",
                    "name",
                    "arguments",
                    "usage",
                    "finish_reason",
                    "index",
                    "output",
                    "type",
                    "status",
                    "role",
                    "data",
                    "embedding",
                    "prompt_tokens",
                    "input_tokens",
                    "text",
                    "response",
                    "messages",
                    "input",
                    "instructions",
                    "tools",
                    "prompt",
                    "image_url",
                    "url",
                    "stream_options",
                    "incomplete_details",
                    "reason",
                    "summary",
                    "refusal",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=24,
)


@settings(max_examples=150, deadline=None)
@given(body=json_values, response=json_values, chunks=st.lists(json_values, max_size=4))
def test_unknown_shapes_never_raise(body: Any, response: Any, chunks: list[Any]):
    # Runs in strict mode: any exception here is a bug, not something the guard hides.
    for endpoint in ENDPOINTS:
        inv = _request.invocation_for(endpoint, body, SERVER)
        inv.capture_content = True
        _request.add_request_content(inv, endpoint, body)
        _response.apply_response(inv, endpoint.kind, response)
        hooks = _stream.OpenAIStreamHooks(inv, endpoint.kind, True, body)
        for chunk in chunks:
            hooks.on_chunk(chunk)
        hooks._finish_responses() if endpoint.kind == RESPONSES else hooks._finish_choices()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"choices": None, "usage": None},
        {"id": 42, "model": ["x"], "choices": [{"message": None, "finish_reason": 7}]},
        {
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": [{"odd": 1}],
                        "tool_calls": [{"function": None}],
                    },
                }
            ],
            "usage": {"prompt_tokens": "many", "completion_tokens": -1},
        },
        {"object": "something.new", "payload": {"nested": True}},
    ],
)
def test_unknown_response_shapes_through_the_client(captured_content, body):
    client, _ = make_client(json_response(body))
    client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
    )
    span = captured_content.find("chat gpt-4o-mini")
    assert span.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert span.end_time is not None


def test_stream_of_unknown_chunks(captured):
    events = bodies.sse([{"weird": True}, {"choices": "nope"}, {"choices": [None, 3]}])
    from tests.support.openai_server import sse_response

    client, _ = make_client(sse_response(events), base_url="http://localhost:11434/v1")
    chunks = list(
        client.chat.completions.create(
            model="llama3", messages=[{"role": "user", "content": "Hi"}], stream=True
        )
    )
    assert len(chunks) == 3
    span = captured.find("chat llama3")
    assert span.attributes["llmtrace.stream.chunks"] == 3
    assert span.attributes["gen_ai.provider.name"] == "ollama"


def test_invocation_without_model_is_named_by_operation():
    endpoint = _request.endpoint_for("post", "/embeddings")
    inv = _request.invocation_for(endpoint, None, SERVER)
    assert isinstance(inv, LLMInvocation) and inv.span_name == "embeddings"
