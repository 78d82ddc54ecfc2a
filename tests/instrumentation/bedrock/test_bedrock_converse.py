"""Converse through the real boto3 client on a local server: attributes, content, cost, errors."""

from __future__ import annotations

import json
from typing import Any

import genai_prices
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.bedrock_server import BedrockServer

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Capital of France?"}]}]


def converse_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Paris."}]}},
        "stopReason": "end_turn",
        "usage": {
            "inputTokens": 20,
            "outputTokens": 3,
            "totalTokens": 1523,
            "cacheReadInputTokens": 1000,
            "cacheWriteInputTokens": 500,
        },
        "metrics": {"latencyMs": 321},
    }
    body.update(overrides)
    return body


def own(span: Any) -> dict[str, Any]:
    return {
        k: v
        for k, v in span.attributes.items()
        if not k.startswith(("gen_ai.usage.cost", "llmtrace.cost"))
    }


def expected_cost(model: str, inp: int, out: int, read: int, write: int) -> float:
    price = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=inp + read + write,
            output_tokens=out,
            cache_read_tokens=read,
            cache_write_tokens=write,
        ),
        model,
        provider_id="aws",
    )
    return float(price.total_price)


def test_converse_attributes_exact(captured, server: BedrockServer):
    server.json(converse_body())
    client = server.client()
    result = client.converse(
        modelId=MODEL,
        messages=MESSAGES,
        system=[{"text": "Be terse."}],
        inferenceConfig={"maxTokens": 50, "temperature": 0.2, "topP": 0.9, "stopSequences": ["x"]},
        additionalModelRequestFields={"top_k": 40},
    )
    assert result["output"]["message"]["content"][0]["text"] == "Paris."
    path, body, _ = server.requests[0]
    assert path.endswith("/converse") and json.loads(body)["messages"] == MESSAGES
    span = captured.find(f"chat {MODEL}")
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert own(span) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "aws.bedrock",
        "gen_ai.request.model": MODEL,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.top_k": 40.0,
        "gen_ai.request.stop_sequences": ("x",),
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "gen_ai.response.finish_reasons": ("end_turn",),
        # inputTokens exclude cache reads and writes on Bedrock; the conventions' include them
        "gen_ai.usage.input_tokens": 1520,
        "gen_ai.usage.output_tokens": 3,
        "gen_ai.usage.cache_read.input_tokens": 1000,
        "gen_ai.usage.cache_write.input_tokens": 500,
        "aws.request_id": "req-1234",
    }
    # Converse names no model: never a guess.
    assert "gen_ai.response.model" not in span.attributes
    assert span.attributes["gen_ai.usage.cost.amount"] == pytest.approx(
        expected_cost(MODEL, 20, 3, 1000, 500), rel=1e-6
    )
    assert span.attributes["gen_ai.usage.cost.currency"] == "USD"


def test_inference_profiles_priced_by_their_own_id(captured, server: BedrockServer):
    """Global and regional profiles cost differently: the region prefix is kept for pricing."""
    server.json(converse_body(usage={"inputTokens": 1000, "outputTokens": 1000}))
    client = server.client()
    costs = {}
    for model in (
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        # genai-prices knows no ARN: priced by the id after the last "/"
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
    ):
        client.converse(modelId=model, messages=MESSAGES)
        costs[model] = captured.find(f"chat {model}").attributes["gen_ai.usage.cost.amount"]
    global_, regional, arn = costs.values()
    assert global_ == pytest.approx(expected_cost(next(iter(costs)), 1000, 1000, 0, 0))
    assert regional > global_
    assert arn == regional


def test_content_capture_messages_tools_and_tool_call(captured_content, server: BedrockServer):
    server.json(
        converse_body(
            output={
                "message": {
                    "role": "assistant",
                    "content": [
                        {"text": "Let me look."},
                        {
                            "toolUse": {
                                "toolUseId": "t1",
                                "name": "weather",
                                "input": {"city": "Paris"},
                            }
                        },
                    ],
                }
            },
            stopReason="tool_use",
        )
    )
    client = server.client()
    client.converse(
        modelId=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"text": "Weather?"},
                    {"image": {"format": "png", "source": {"bytes": b"\x89PNG" * 30}}},
                    {"cachePoint": {"type": "default"}},
                ],
            },
            {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "t0", "name": "now", "input": {}}}],
            },
            {
                "role": "user",
                "content": [{"toolResult": {"toolUseId": "t0", "content": [{"json": {"t": 1}}]}}],
            },
        ],
        system=[{"text": "Be terse."}],
        toolConfig={
            "tools": [
                {
                    "toolSpec": {
                        "name": "weather",
                        "description": "Weather by city",
                        "inputSchema": {"json": {"type": "object"}},
                    }
                }
            ]
        },
    )
    span = captured_content.find(f"chat {MODEL}")
    attrs = span.attributes
    assert json.loads(attrs["gen_ai.input.messages"]) == [
        {
            "role": "user",
            "parts": [
                {"type": "text", "content": "Weather?"},
                {
                    "type": "blob",
                    "modality": "image",
                    "content": "<elided base64 image/png, 120 bytes>",
                    "mime_type": "image/png",
                },
            ],
        },
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "t0", "name": "now", "arguments": {}}],
        },
        {
            "role": "user",
            "parts": [{"type": "tool_call_response", "id": "t0", "response": {"t": 1}}],
        },
    ]
    assert json.loads(attrs["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Be terse."}
    ]
    assert json.loads(attrs["gen_ai.tool.definitions"]) == [
        {
            "type": "function",
            "name": "weather",
            "description": "Weather by city",
            "parameters": {"type": "object"},
        }
    ]
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Let me look."},
                {
                    "type": "tool_call",
                    "id": "t1",
                    "name": "weather",
                    "arguments": {"city": "Paris"},
                },
            ],
            "finish_reason": "tool_call",
        }
    ]
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert attrs["llmtrace.response.tool_calls"] == ("weather",)


def test_content_off_by_default(captured, server: BedrockServer):
    server.json(converse_body())
    server.client().converse(modelId=MODEL, messages=MESSAGES, system=[{"text": "secret"}])
    attrs = captured.find(f"chat {MODEL}").attributes
    assert not any(k.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.system")) for k in attrs)


def test_guardrail_intervention_is_the_stop_reason(captured_content, server: BedrockServer):
    server.json(
        converse_body(
            output={"message": {"role": "assistant", "content": [{"text": "Sorry, I can't."}]}},
            stopReason="guardrail_intervened",
            trace={"guardrail": {"modelOutput": ["Sorry, I can't."]}},
        )
    )
    server.client().converse(
        modelId=MODEL,
        messages=MESSAGES,
        guardrailConfig={"guardrailIdentifier": "gr-123", "guardrailVersion": "1"},
    )
    attrs = captured_content.find(f"chat {MODEL}").attributes
    assert attrs["gen_ai.response.finish_reasons"] == ("guardrail_intervened",)
    assert json.loads(attrs["gen_ai.output.messages"])[0]["finish_reason"] == "content_filter"
    assert attrs["aws.bedrock.guardrail.id"] == "gr-123"


def test_prompt_router_names_the_answering_model(captured, server: BedrockServer):
    router = "arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/anthropic.claude:1"
    answered = "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    server.json(converse_body(trace={"promptRouter": {"invokedModelId": answered}}))
    server.client().converse(modelId=router, messages=MESSAGES)
    attrs = captured.find(f"chat {router}").attributes
    assert attrs["gen_ai.response.model"] == answered


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 429),
        ("ValidationException", 400),
        ("ModelNotReadyException", 429),
    ],
)
def test_errors_pass_through_with_error_type(captured, server: BedrockServer, code, status):
    server.error(code, status, "try later")
    client = server.client()
    with pytest.raises(client.exceptions.ClientError) as raised:
        client.converse(modelId=MODEL, messages=MESSAGES)
    assert type(raised.value).__name__ == code
    assert raised.value.response["Error"]["Code"] == code
    span = captured.find(f"chat {MODEL}")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == code
    assert span.attributes["http.response.status_code"] == status
    assert span.attributes["aws.request_id"] == "req-1234"
    assert [e.name for e in span.events] == ["exception"]


def test_odd_response_never_raises(captured_content, server: BedrockServer):
    """Unknown content blocks, an unknown stop reason and no usage: recorded as far as known."""
    server.json(
        {
            "output": {"message": {"role": "assistant", "content": [{"futureBlock": {"x": 1}}]}},
            "stopReason": "brand_new_reason",
        }
    )
    result = server.client().converse(modelId=MODEL, messages=MESSAGES)
    assert result["stopReason"] == "brand_new_reason"
    span = captured_content.find(f"chat {MODEL}")
    assert span.status.status_code is StatusCode.UNSET
    assert "gen_ai.usage.input_tokens" not in span.attributes
    output = json.loads(span.attributes["gen_ai.output.messages"])
    assert output[0]["finish_reason"] == "brand_new_reason"
    assert len(output[0]["parts"]) == 1
