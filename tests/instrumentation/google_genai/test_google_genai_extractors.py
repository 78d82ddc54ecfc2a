"""The pure phases on plain data: typed and lenient, and never raising on odd shapes.

Runs under llmtrace's strict mode (tests/conftest.py), where a swallowed internal error
would re-raise: any exception here is a bug.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from llmtrace._genai.lifecycle import LLMInvocation
from llmtrace._genai.tokens import normalize_usage, usage_from_gemini
from llmtrace.instrumentation.google_genai import _messages, _request, _response, _stream
from llmtrace.instrumentation.google_genai._request import EMBED, GENERATE


def test_request_extraction_is_typed_and_lenient() -> None:
    inv = _request.invocation_for(
        GENERATE,
        True,
        {
            "model": "projects/p/locations/us/publishers/google/models/gemini-2.5-pro",
            "config": {
                "temperature": "hot",
                "topP": True,
                "top_k": 3,
                "max_output_tokens": 2.5,
                "stop_sequences": ["a", 1],
                "candidate_count": 2,
                "response_mime_type": "text/x.enum",
            },
        },
    )
    assert inv.provider == "gcp.vertex_ai"
    assert inv.request_model == "gemini-2.5-pro"
    assert (inv.temperature, inv.top_p, inv.max_tokens, inv.stop_sequences) == (
        None,
        None,
        None,
        None,
    )
    assert (inv.top_k, inv.choice_count, inv.output_type) == (3.0, 2, "text")


def test_model_names() -> None:
    assert _request.model_name("models/gemini-2.5-flash") == "gemini-2.5-flash"
    assert _request.model_name("publishers/google/models/gemini-2.5-flash") == "gemini-2.5-flash"
    assert _request.model_name("tunedModels/123") == "tunedModels/123"
    assert _request.model_name("") is None
    assert _request.model_name(None) is None


def test_embedding_request() -> None:
    inv = _request.invocation_for(EMBED, None, {"model": "gemini-embedding-001", "config": {}})
    assert (inv.operation, inv.provider) == ("embeddings", "gcp.gemini")


def test_gemini_usage_shapes() -> None:
    wire = {
        "promptTokenCount": 10,
        "candidatesTokenCount": 4,
        "thoughtsTokenCount": 6,
        "cachedContentTokenCount": 2,
        "toolUsePromptTokenCount": 3,
    }
    usage = usage_from_gemini(wire)
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens) == (13, 10)
    assert (usage.cache_read_input_tokens, usage.reasoning_output_tokens) == (2, 6)
    assert normalize_usage(wire) == usage
    assert normalize_usage({"prompt_token_count": 5}) == usage_from_gemini(
        {"prompt_token_count": 5}
    )
    assert usage_from_gemini({"promptTokenCount": "many"}) is None
    assert usage_from_gemini({}) is None


def test_finish_reason_of_a_function_call() -> None:
    candidate = {"finishReason": "STOP", "content": {"parts": [{"functionCall": {"name": "f"}}]}}
    assert _response.finish_reasons_and_calls([candidate]) == (["tool_call"], ["f"])
    assert _response.finish_reasons_and_calls([{"finishReason": "STOP"}]) == (["stop"], [])
    assert _response.finish_reasons_and_calls([]) == (None, [])


def test_tool_definitions_of_every_kind() -> None:
    def lookup(city: str) -> str:
        """Look a city up."""
        return city

    tools = [
        lookup,
        {"functionDeclarations": [{"name": "f", "parametersJsonSchema": {"type": "object"}}]},
        {"googleSearch": {}},
    ]
    assert _messages.tool_definitions(tools) == [
        {"type": "function", "name": "lookup", "description": "Look a city up."},
        {"type": "function", "name": "f", "parameters": {"type": "object"}},
        {"type": "googleSearch"},
    ]


def test_loose_parts_join_one_user_message() -> None:
    messages = _messages.input_messages(
        ["Describe", {"inlineData": {"data": "aGVsbG8=", "mimeType": "audio/wav"}}]
    )
    assert messages == [
        {
            "role": "user",
            "parts": [
                {"type": "text", "content": "Describe"},
                {
                    "type": "blob",
                    "modality": "audio",
                    "content": "<elided base64 audio/wav, 6 bytes>",
                    "mime_type": "audio/wav",
                },
            ],
        }
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "candidates",
                    "content",
                    "parts",
                    "text",
                    "thought",
                    "functionCall",
                    "function_call",
                    "name",
                    "args",
                    "finishReason",
                    "index",
                    "usageMetadata",
                    "promptTokenCount",
                    "candidatesTokenCount",
                    "responseId",
                    "modelVersion",
                    "inlineData",
                    "fileData",
                    "promptFeedback",
                    "blockReason",
                    "embeddings",
                    "values",
                    "statistics",
                    "token_count",
                    "role",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_odd_shapes_never_raise(data: Any) -> None:
    inv = LLMInvocation(operation="generate_content", provider="gcp.gemini")
    inv.capture_content = True
    _response.apply_response(inv, data)
    _response.apply_embeddings(inv, data, data)
    _messages.input_messages(data)
    _messages.output_messages(data)
    _messages.system_instructions(data)
    _messages.tool_definitions(data)
    _request.invocation_for(GENERATE, None, {"model": data, "config": data})
    hooks = _stream.GeminiStreamHooks(inv, data)
    hooks.on_chunk(data)
    hooks.on_chunk(data)
    hooks._finish()
    for candidate in hooks._candidates.values():
        candidate.message()
    usage_from_gemini(data)
