"""The pure extraction functions: callback data in, names, fields and attributes out."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder, PromptTemplate

from llmtrace import semconv
from llmtrace._genai.lifecycle import LLMInvocation
from llmtrace.instrumentation.langchain import _extract as ex


@pytest.mark.parametrize(
    ("metadata", "serialized", "expected"),
    [
        ({"ls_provider": "openai"}, None, "openai"),
        ({"ls_provider": "azure"}, None, "azure.ai.openai"),
        ({"ls_provider": "anthropic"}, None, "anthropic"),
        ({"ls_provider": "google_vertexai"}, None, "gcp.vertex_ai"),
        ({"ls_provider": "amazon_bedrock"}, None, "aws.bedrock"),
        ({"ls_provider": "mistralai"}, None, "mistral_ai"),
        ({"ls_provider": "somecloud"}, None, "somecloud"),
        ({}, {"id": ["langchain", "chat_models", "anthropic", "ChatAnthropic"]}, "anthropic"),
        ({}, None, "langchain"),
    ],
)
def test_provider_names_follow_the_genai_conventions(metadata, serialized, expected):
    assert ex.provider_name(serialized, metadata, None) == expected


def test_each_langchain_class_names_the_sdk_instrumentation_beneath_it():
    sdk = ex.sdk_instrumentation
    assert sdk({"id": ["langchain", "chat_models", "openai", "ChatOpenAI"]}) == "openai"
    assert sdk({"id": ["langchain", "chat_models", "azure_openai", "AzureChatOpenAI"]}) == "openai"
    assert sdk({"id": ["langchain", "llms", "openai", "OpenAI"]}) == "openai"
    assert sdk({"id": ["langchain", "chat_models", "anthropic", "ChatAnthropic"]}) == "anthropic"
    assert sdk({"id": ["langchain_google_genai", "ChatGoogleGenerativeAI"]}) == "google_genai"
    assert sdk({"id": ["langchain", "chat_models", "mistralai", "ChatMistralAI"]}) is None
    assert sdk(None) is None


def test_request_fields_from_invocation_params_and_metadata():
    inv = LLMInvocation(operation="chat", provider="openai")
    ex.fill_request(
        inv,
        {
            "model": "gpt-4o",
            "temperature": 0,
            "top_p": 0.9,
            "max_completion_tokens": 100,
            "seed": 7,
            "n": 2,
            "presence_penalty": 0.5,
            "stream": True,
        },
        {"ls_model_name": "ignored"},
        {"stop": ["END"]},
    )

    assert inv.request_model == "gpt-4o"
    assert inv.temperature == 0.0
    assert inv.top_p == 0.9
    assert inv.max_tokens == 100
    assert inv.seed == 7
    assert inv.choice_count == 2
    assert inv.presence_penalty == 0.5
    assert inv.stop_sequences == ["END"]
    assert inv.stream is True


def test_request_falls_back_to_langsmith_metadata():
    inv = LLMInvocation(operation="chat", provider="anthropic")
    ex.fill_request(
        inv, {}, {"ls_model_name": "claude", "ls_temperature": 0.5, "ls_stop": "X"}, None
    )

    assert (inv.request_model, inv.temperature, inv.stop_sequences) == ("claude", 0.5, ["X"])
    assert inv.choice_count is None


def test_response_fields_and_output_messages():
    inv = LLMInvocation(operation="chat", provider="openai")
    inv.capture_content = True
    message = AIMessage(
        content="hi",
        response_metadata={"model_name": "m-1", "id": "r-1", "finish_reason": "stop"},
        usage_metadata={"input_tokens": 4, "output_tokens": 1, "total_tokens": 5},
    )
    result = SimpleNamespace(
        generations=[[SimpleNamespace(message=message, generation_info=None)]], llm_output=None
    )

    ex.fill_response(inv, result)

    assert (inv.response_model, inv.response_id, inv.finish_reasons) == ("m-1", "r-1", ["stop"])
    assert inv.usage is not None and (inv.usage.input_tokens, inv.usage.output_tokens) == (4, 1)
    assert inv.output_messages == [
        {"role": "assistant", "parts": [{"type": "text", "content": "hi"}], "finish_reason": "stop"}
    ]


def test_messages_in_the_conventions_shape():
    messages = [
        SystemMessage("rules"),
        HumanMessage([{"type": "text", "text": "look"}, {"type": "image_url", "image_url": "u"}]),
        AIMessage("", tool_calls=[{"name": "f", "args": {"x": 1}, "id": "c1"}]),
        ToolMessage("42", tool_call_id="c1"),
    ]

    assert ex.messages_to_genai(messages) == [
        {"role": "system", "parts": [{"type": "text", "content": "rules"}]},
        {
            "role": "user",
            "parts": [
                {"type": "text", "content": "look"},
                {"type": "image_url", "content": {"type": "image_url", "image_url": "u"}},
            ],
        },
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "c1", "name": "f", "arguments": {"x": 1}}],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "42"}]},
    ]


def test_run_attributes_skip_internal_tags_and_metadata():
    attributes = ex.run_attributes(
        "r1",
        "chain",
        "name",
        ["seq:step:1", "langsmith:hidden", "mine"],
        {"ls_provider": "x", "lc_versions": {}, "user": "u", **{f"k{i}": i for i in range(50)}},
    )

    assert attributes[semconv.LLMTRACE_LANGCHAIN_TAGS] == ["mine"]
    assert attributes[semconv.LLMTRACE_LANGCHAIN_METADATA_PREFIX + "user"] == "u"
    assert not any("ls_provider" in key or "lc_versions" in key for key in attributes)
    metadata_keys = [
        k for k in attributes if k.startswith(semconv.LLMTRACE_LANGCHAIN_METADATA_PREFIX)
    ]
    assert len(metadata_keys) == ex.MAX_METADATA_KEYS


def test_documents_with_ids_scores_and_metadata():
    assert ex.document_to_dict(
        Document(page_content="t", metadata={"relevance_score": 0.7, "source_id": 9}),
        with_content=True,
    ) == {
        "id": "9",
        "score": 0.7,
        "content": "t",
        "metadata": {"relevance_score": 0.7, "source_id": 9},
    }
    assert ex.document_to_dict(Document(page_content="t"), with_content=False) == {}


def test_prompt_templates_as_plain_strings():
    assert ex.prompt_template(PromptTemplate.from_template("Hi {name}")._serialized) == "Hi {name}"
    chat = ChatPromptTemplate.from_messages(
        [("system", "Be {tone}"), MessagesPlaceholder("history"), ("human", "{q}")]
    )
    assert ex.prompt_template(chat._serialized) == [
        {"role": "system", "content": "Be {tone}"},
        {"role": "placeholder", "content": "{history}"},
        {"role": "user", "content": "{q}"},
    ]
    assert ex.prompt_template(None) is None
