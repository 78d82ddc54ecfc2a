"""InvokeModel for each body format: the caller still reads the body; usage, reasons, content."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

from tests.support.bedrock_server import BedrockServer

CLAUDE = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
TOKEN_HEADERS = {
    "x-amzn-bedrock-input-token-count": "11",
    "x-amzn-bedrock-output-token-count": "7",
    "x-amzn-bedrock-invocation-latency": "250",
}

ANTHROPIC_RESPONSE = {
    "id": "msg_bdrk_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-5-haiku-20241022",
    "content": [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 10,
        "output_tokens": 7,
        "cache_read_input_tokens": 300,
        "cache_creation_input_tokens": 40,
    },
}


def invoke(server: BedrockServer, model: str, body: Any) -> tuple[Any, bytes]:
    response = server.client().invoke_model(modelId=model, body=json.dumps(body))
    return response, response["body"].read()


def test_anthropic_body(captured_content, server: BedrockServer):
    server.json(ANTHROPIC_RESPONSE, headers=TOKEN_HEADERS)
    request = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "temperature": 0.5,
        "top_k": 20,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Weather in Oslo?"}]}],
        "tools": [{"name": "weather", "description": "d", "input_schema": {"type": "object"}}],
    }
    response, data = invoke(server, CLAUDE, request)
    assert json.loads(data) == ANTHROPIC_RESPONSE  # the caller reads the body as before
    assert response["contentType"] == "application/json"
    span = captured_content.find(f"chat {CLAUDE}")
    attrs = span.attributes
    assert attrs["gen_ai.provider.name"] == "aws.bedrock"
    assert attrs["gen_ai.response.id"] == "msg_bdrk_01"
    assert attrs["gen_ai.response.model"] == "claude-3-5-haiku-20241022"
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_use",)
    assert attrs["gen_ai.request.max_tokens"] == 100
    assert attrs["gen_ai.request.temperature"] == 0.5
    assert attrs["gen_ai.request.top_k"] == 20.0
    # the body's usage wins over the headers': it has the cache reads and writes
    assert attrs["gen_ai.usage.input_tokens"] == 350
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 300
    assert attrs["gen_ai.usage.cache_write.input_tokens"] == 40
    assert attrs["gen_ai.usage.output_tokens"] == 7
    assert attrs["gen_ai.usage.cost.amount"] > 0
    assert attrs["llmtrace.response.tool_calls"] == ("weather",)
    assert json.loads(attrs["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "Be brief."}
    ]
    assert json.loads(attrs["gen_ai.tool.definitions"])[0]["name"] == "weather"
    assert json.loads(attrs["gen_ai.output.messages"]) == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Checking."},
                {
                    "type": "tool_call",
                    "id": "toolu_1",
                    "name": "weather",
                    "arguments": {"city": "Oslo"},
                },
            ],
            "finish_reason": "tool_call",
        }
    ]


@pytest.mark.parametrize(
    ("model", "request_body", "response_body", "operation", "expected"),
    [
        (
            "us.amazon.nova-lite-v1:0",
            {
                "schemaVersion": "messages-v1",
                "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
                "inferenceConfig": {"maxTokens": 20, "temperature": 0.1, "topP": 0.8},
            },
            {
                "output": {"message": {"role": "assistant", "content": [{"text": "Hello"}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 5, "outputTokens": 2, "totalTokens": 7,
                          "cacheReadInputTokenCount": 10, "cacheWriteInputTokenCount": 0},
            },
            "chat",
            {"gen_ai.usage.input_tokens": 15, "gen_ai.usage.cache_read.input_tokens": 10,
             "gen_ai.usage.output_tokens": 2, "gen_ai.response.finish_reasons": ("end_turn",),
             "gen_ai.request.max_tokens": 20, "gen_ai.request.top_p": 0.8},
        ),
        (
            "amazon.titan-text-express-v1",
            {"inputText": "Hi", "textGenerationConfig": {"maxTokenCount": 30, "temperature": 0}},
            {"inputTextTokenCount": 3,
             "results": [{"tokenCount": 2, "outputText": "Hello", "completionReason": "FINISH"}]},
            "text_completion",
            {"gen_ai.usage.input_tokens": 3, "gen_ai.usage.output_tokens": 2,
             "gen_ai.response.finish_reasons": ("FINISH",), "gen_ai.request.max_tokens": 30},
        ),
        (
            "meta.llama3-1-8b-instruct-v1:0",
            {"prompt": "Hi", "max_gen_len": 40, "temperature": 0.3, "top_p": 0.7},
            {"generation": "Hello", "prompt_token_count": 8, "generation_token_count": 2,
             "stop_reason": "stop"},
            "text_completion",
            {"gen_ai.usage.input_tokens": 8, "gen_ai.usage.output_tokens": 2,
             "gen_ai.response.finish_reasons": ("stop",), "gen_ai.request.max_tokens": 40,
             "gen_ai.request.top_p": 0.7},
        ),
        (
            # Cohere's body reports no usage: Bedrock's headers do.
            "cohere.command-text-v14",
            {"prompt": "Hi", "max_tokens": 50, "p": 0.5, "k": 3},
            {"id": "gen-1", "prompt": "Hi",
             "generations": [{"id": "g", "text": "Hello", "finish_reason": "COMPLETE"}]},
            "text_completion",
            {"gen_ai.usage.input_tokens": 11, "gen_ai.usage.output_tokens": 7,
             "gen_ai.response.finish_reasons": ("COMPLETE",), "gen_ai.response.id": "gen-1",
             "gen_ai.request.top_k": 3.0},
        ),
        (
            "cohere.command-r-plus-v1:0",
            {"message": "Hi", "chat_history": [{"role": "USER", "message": "Before"}],
             "max_tokens": 50, "seed": 4},
            {"response_id": "r-1", "text": "Hello", "generation_id": "g-1",
             "finish_reason": "COMPLETE", "chat_history": []},
            "chat",
            {"gen_ai.usage.input_tokens": 11, "gen_ai.response.id": "r-1",
             "gen_ai.response.finish_reasons": ("COMPLETE",), "gen_ai.request.seed": 4},
        ),
    ],
)  # fmt: skip
def test_families(
    captured_content,
    server: BedrockServer,
    model,
    request_body,
    response_body,
    operation,
    expected,
):
    server.json(response_body, headers=TOKEN_HEADERS)
    _, data = invoke(server, model, request_body)
    assert json.loads(data) == response_body
    attrs = captured_content.find(f"{operation} {model}").attributes
    assert {key: attrs.get(key) for key in expected} == expected
    output = json.loads(attrs["gen_ai.output.messages"])
    assert output[0]["parts"] == [{"type": "text", "content": "Hello"}]
    assert json.loads(attrs["gen_ai.input.messages"])[-1]["parts"][0]["content"] == "Hi"


@pytest.mark.parametrize(
    ("model", "request_body", "response_body", "dimensions", "input_tokens"),
    [
        ("amazon.titan-embed-text-v2:0", {"inputText": "Hi", "dimensions": 4},
         {"embedding": [0.1, 0.2, 0.3, 0.4], "inputTextTokenCount": 2}, 4, 2),
        ("cohere.embed-english-v3", {"texts": ["Hi"], "input_type": "search_query"},
         {"id": "e-1", "embeddings": [[0.1, 0.2, 0.3]], "texts": ["hi"]}, 3, 11),
    ],
)  # fmt: skip
def test_embeddings(captured, server, model, request_body, response_body, dimensions, input_tokens):
    server.json(response_body, headers=TOKEN_HEADERS)
    _, data = invoke(server, model, request_body)
    assert json.loads(data) == response_body
    attrs = captured.find(f"embeddings {model}").attributes
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.embeddings.dimension.count"] == dimensions
    assert attrs["gen_ai.usage.input_tokens"] == input_tokens


def test_unknown_model_body_untouched_usage_from_headers(captured, server: BedrockServer):
    """A body format llmtrace does not know is not read: the caller gets the raw stream."""
    server.json({"images": ["aGVsbG8="]}, headers=TOKEN_HEADERS)
    response = server.client().invoke_model(modelId="stability.sd3-large-v1:0", body=b"{}")
    assert type(response["body"]).__name__ == "StreamingBody"
    assert json.loads(response["body"].read()) == {"images": ["aGVsbG8="]}
    attrs = captured.find("generate_content stability.sd3-large-v1:0").attributes
    assert attrs["gen_ai.usage.input_tokens"] == 11
    assert attrs["gen_ai.usage.output_tokens"] == 7


def test_application_profile_told_by_body(captured, server: BedrockServer):
    profile = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
    server.json(ANTHROPIC_RESPONSE)
    invoke(server, profile, {"anthropic_version": "bedrock-2023-05-31", "messages": []})
    attrs = captured.find(f"chat {profile}").attributes
    assert attrs["gen_ai.response.model"] == "claude-3-5-haiku-20241022"
    assert attrs["gen_ai.usage.output_tokens"] == 7


def test_file_like_request_body(captured, server: BedrockServer):
    server.json(ANTHROPIC_RESPONSE)
    response = server.client().invoke_model(
        modelId=CLAUDE, body=io.BytesIO(b'{"anthropic_version": "bedrock-2023-05-31"}')
    )
    assert json.loads(response["body"].read())["id"] == "msg_bdrk_01"
    assert captured.find(f"chat {CLAUDE}").attributes["gen_ai.usage.output_tokens"] == 7


def test_garbage_response_body_never_raises(captured, server: BedrockServer):
    server.json(b"{not json", headers=TOKEN_HEADERS)
    response = server.client().invoke_model(modelId=CLAUDE, body=b"also not json")
    assert response["body"].read() == b"{not json"
    span = captured.find(f"chat {CLAUDE}")
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["gen_ai.usage.input_tokens"] == 11


def test_invoke_error(captured, server: BedrockServer):
    server.error("ValidationException", 400, "bad body")
    client = server.client()
    with pytest.raises(client.exceptions.ValidationException):
        client.invoke_model(modelId=CLAUDE, body=b"{}")
    span = captured.find(f"chat {CLAUDE}")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "ValidationException"


def test_priced_by_the_requested_profile_not_the_body_model(captured, server: BedrockServer):
    """The body names "claude-sonnet-4-5-...", but a global profile costs less than a regional."""
    body = {**ANTHROPIC_RESPONSE, "model": "claude-sonnet-4-5-20250929"}
    body["usage"] = {"input_tokens": 1000, "output_tokens": 1000}
    server.json(body)
    costs = []
    for geo in ("global", "us"):
        model = f"{geo}.anthropic.claude-sonnet-4-5-20250929-v1:0"
        invoke(server, model, {"anthropic_version": "bedrock-2023-05-31", "messages": []})
        attrs = captured.find(f"chat {model}").attributes
        assert attrs["gen_ai.response.model"] == "claude-sonnet-4-5-20250929"
        costs.append(attrs["gen_ai.usage.cost.amount"])
    assert costs[0] == pytest.approx(0.018)  # $3 + $15 per million
    assert costs[1] > costs[0]


def test_body_read_failure_reaches_the_callers_read(captured, server: BedrockServer):
    """The body is read when the call returns; a failed read is raised at the caller's read()."""
    server.json(ANTHROPIC_RESPONSE, headers=TOKEN_HEADERS, cut=True)
    uninstrumented_error = None
    from llmtrace.instrumentation.bedrock import instrument_bedrock, uninstrument_bedrock

    uninstrument_bedrock()
    try:
        server.client().invoke_model(modelId=CLAUDE, body=b"{}")["body"].read()
    except Exception as exc:
        uninstrumented_error = exc
    instrument_bedrock()
    assert uninstrumented_error is not None
    response = server.client().invoke_model(modelId=CLAUDE, body=b"{}")
    with pytest.raises(type(uninstrumented_error)):
        response["body"].read()
    span = captured.find(f"chat {CLAUDE}")
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes["gen_ai.usage.input_tokens"] == 11
