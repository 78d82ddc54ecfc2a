"""The pure pieces: Bedrock usage, model families, price names, odd content blocks."""

from __future__ import annotations

import pytest

from llmtrace import semconv
from llmtrace._genai.bedrock import price_name
from llmtrace._genai.tokens import Usage, usage_from_bedrock
from llmtrace.instrumentation.bedrock._converse import content_parts
from llmtrace.instrumentation.bedrock._models import (
    ANTHROPIC,
    COHERE_CHAT,
    META,
    NOVA,
    TITAN,
    TITAN_EMBED,
    UNKNOWN,
    family,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"inputTokens": 10, "outputTokens": 2, "totalTokens": 12}, Usage(10, 2)),
        (
            {"inputTokens": 10, "outputTokens": 2, "cacheReadInputTokens": 5,
             "cacheWriteInputTokens": 1},
            Usage(16, 2, cache_read_input_tokens=5, cache_creation_input_tokens=1),
        ),
        (  # Nova bodies and amazon-bedrock-invocationMetrics spell them differently
            {"inputTokenCount": 3, "outputTokenCount": 4, "cacheReadInputTokenCount": 7},
            Usage(10, 4, cache_read_input_tokens=7),
        ),
        ({"inputTokens": -1, "outputTokens": "2", "cacheReadInputTokens": True}, None),
        ({"latencyMs": 5}, None),
        ("not a dict", None),
        (None, None),
    ],
)  # fmt: skip
def test_usage_from_bedrock(raw, expected):
    assert usage_from_bedrock(raw) == expected


@pytest.mark.parametrize(
    ("model", "body", "expected"),
    [
        ("anthropic.claude-3-haiku-20240307-v1:0", None, ANTHROPIC),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", None, ANTHROPIC),
        ("us-gov.meta.llama3-8b-instruct-v1:0", None, META),
        ("eu.amazon.nova-micro-v1:0", None, NOVA),
        ("amazon.titan-text-lite-v1", None, TITAN),
        ("amazon.titan-embed-text-v2:0", None, TITAN_EMBED),
        ("cohere.command-r-v1:0", None, COHERE_CHAT),
        ("arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-70b-instruct-v1:0", None, META),
        ("arn:aws:bedrock:us-east-1:1:application-inference-profile/x1", {"max_gen_len": 5}, META),
        ("arn:aws:bedrock:us-east-1:1:provisioned-model/x2", {"anthropic_version": "v"}, ANTHROPIC),
        ("custom", {"messages": [], "inferenceConfig": {}}, NOVA),
        ("custom", {"message": "hi"}, COHERE_CHAT),
        ("custom", {"whatever": 1}, UNKNOWN),
        ("custom", None, UNKNOWN),
        (None, None, UNKNOWN),
    ],
)
def test_family(model, body, expected):
    assert family(model, body) == expected


def test_price_name_keeps_the_region_prefix_and_drops_an_arn():
    assert price_name("global.anthropic.claude-x-v1:0") == "global.anthropic.claude-x-v1:0"
    assert price_name("arn:aws:bedrock:us-east-1:1:inference-profile/us.meta.llama") == (
        "us.meta.llama"
    )
    assert price_name(None) is None
    assert price_name("") is None


def test_odd_content_blocks_never_raise():
    parts = content_parts(
        [
            "a string",
            {"image": "not a dict"},
            {
                "document": {
                    "format": "pdf",
                    "name": "d",
                    "source": {"s3Location": {"uri": "s3://b/k"}},
                }
            },
            {"video": {"format": "mp4", "source": {}}},
            {"reasoningContent": {"redactedContent": b"xx"}},
            {"toolResult": {"toolUseId": "t", "content": [{"text": "a"}, {"json": {"b": 1}}]}},
            {"guardContent": {"text": {"text": "guarded"}}},
            {"cachePoint": {"type": "default"}},
            {},
        ]
    )
    assert parts == [
        {"type": "unknown"},
        {"type": "image"},
        {"type": "uri", "modality": "document", "uri": "s3://b/k", "mime_type": "application/pdf"},
        {"type": "blob", "modality": "video", "content": "<elided base64 video/mp4, 0 bytes>",
         "mime_type": "video/mp4"},
        {"type": "redacted_reasoning"},
        {"type": "tool_call_response", "id": "t", "response": ["a", {"b": 1}]},
        {"type": "text", "content": "guarded"},
        {"type": "unknown"},
    ]  # fmt: skip


def test_anthropic_bodies_use_the_one_anthropic_converter():
    """Bedrock's Anthropic bodies read like Anthropic's own API, blocks Bedrock passes through
    (server tools, redacted thinking, tool results of text blocks) included."""
    from llmtrace._genai.lifecycle import LLMInvocation
    from llmtrace.instrumentation.anthropic import _messages as anthropic_messages
    from llmtrace.instrumentation.bedrock._invoke import add_invoke_content, apply_invoke_body

    messages = [
        {"role": "user", "content": "Search, please"},
        {
            "role": "assistant",
            "content": [
                {"type": "redacted_thinking", "data": "xx"},
                {"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "42"}],
                }
            ],
        },
    ]
    tools = [{"type": "web_search_20250305", "name": "web_search"}]
    inv = LLMInvocation(operation="chat", provider="aws.bedrock")
    add_invoke_content(
        inv, ANTHROPIC, {"messages": messages, "system": "Be brief.", "tools": tools}
    )
    assert inv.input_messages == anthropic_messages.input_messages(messages)
    assert inv.input_messages[1]["parts"][0] == {"type": "reasoning", "content": "<redacted>"}
    assert inv.input_messages[2]["parts"][0]["response"] == "42"
    assert inv.tool_definitions == [{"type": "web_search_20250305", "name": "web_search"}]
    assert inv.system_instructions == [{"type": "text", "content": "Be brief."}]

    inv.capture_content = True
    content = [{"type": "tool_use", "id": "t2", "name": "weather", "input": {"city": "Oslo"}}]
    apply_invoke_body(inv, ANTHROPIC, {"content": content, "stop_reason": "tool_use"}, None)
    assert inv.output_messages == [anthropic_messages.output_message(content, "tool_use")]
    assert inv.attributes[semconv.LLMTRACE_RESPONSE_TOOL_CALLS] == ["weather"]


def test_importing_bedrock_does_not_import_the_anthropic_sdk():
    import subprocess
    import sys

    code = (
        "import sys, llmtrace.instrumentation.bedrock._invoke; "
        "print(any(m == 'anthropic' or m.startswith('anthropic.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
