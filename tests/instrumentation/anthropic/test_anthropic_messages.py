"""messages.create / parse against a local Messages API server: attributes, usage with
cache tokens, cost, content, tools, thinking, raw responses, errors, platforms."""

from __future__ import annotations

import json

import anthropic
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import SpanKind, StatusCode

import llmtrace
from llmtrace import semconv
from tests.support.anthropic_server import ANSWERED_BY, MODEL, error_body, message

HI = [{"role": "user", "content": "Hi"}]


def attributes(span):
    return dict(span.attributes or {})


def test_create_is_one_client_span_with_request_response_and_usage(server, captured):
    server.add(
        message(
            usage={
                "input_tokens": 20,
                "output_tokens": 5,
                "cache_creation_input_tokens": 30,
                "cache_read_input_tokens": 100,
            }
        )
    )
    client = server.client()
    reply = client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=HI,
        stop_sequences=["END"],
        # anthropic 2.x has no arguments for sampling parameters: they go in the body.
        extra_body={"temperature": 0.2, "top_p": 0.9, "top_k": 40},
    )
    assert reply.content[0].text == "Hello!"
    (span,) = captured.spans
    a = attributes(span)
    assert span.name == f"chat {MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert a[semconv.GEN_AI_OPERATION_NAME] == "chat"
    assert a[semconv.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert a[semconv.GEN_AI_REQUEST_MODEL] == MODEL
    assert a[semconv.GEN_AI_REQUEST_MAX_TOKENS] == 256
    assert a[semconv.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert a[semconv.GEN_AI_REQUEST_TOP_P] == 0.9
    assert a[semconv.GEN_AI_REQUEST_TOP_K] == 40
    assert a[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert a[semconv.SERVER_ADDRESS] == "127.0.0.1"
    assert a[semconv.SERVER_PORT] == server.port
    assert a[semconv.GEN_AI_RESPONSE_ID] == "msg_01"
    assert a[semconv.GEN_AI_RESPONSE_MODEL] == ANSWERED_BY
    assert a[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    # Anthropic's input_tokens exclude cache reads and writes; the conventions include them.
    assert a[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 150
    assert a[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 100
    assert a[semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 30
    assert a[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 5
    assert a[semconv.GEN_AI_USAGE_COST_AMOUNT] > 0
    assert semconv.LLMTRACE_USAGE_ESTIMATED not in a
    # Content capture is off by default.
    assert semconv.GEN_AI_INPUT_MESSAGES not in a
    assert semconv.GEN_AI_OUTPUT_MESSAGES not in a


def test_cache_tokens_are_priced_below_plain_input(server, captured):
    usage_plain = {"input_tokens": 1000, "output_tokens": 10}
    usage_cached = {"input_tokens": 0, "output_tokens": 10, "cache_read_input_tokens": 1000}
    server.add(message(usage=usage_plain)).add(message(usage=usage_cached))
    client = server.client()
    client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    plain, cached = (attributes(s) for s in captured.spans)
    assert plain[semconv.GEN_AI_USAGE_INPUT_TOKENS] == cached[semconv.GEN_AI_USAGE_INPUT_TOKENS]
    assert cached[semconv.GEN_AI_USAGE_COST_AMOUNT] < plain[semconv.GEN_AI_USAGE_COST_AMOUNT]


def test_content_system_tools_tool_results_and_images(server, captured_content):
    server.add(
        message(
            [
                {"type": "thinking", "thinking": "The user wants weather.", "signature": "s"},
                {"type": "text", "text": "Let me check."},
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
            ],
            stop_reason="tool_use",
        )
    )
    client = server.client()
    client.messages.create(
        model=MODEL,
        max_tokens=1024,
        system=[{"type": "text", "text": "You are a weather bot."}],
        thinking={"type": "enabled", "budget_tokens": 512},
        tools=[
            {
                "name": "get_weather",
                "description": "Weather for a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ],
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "A" * 4000},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "rainy"}],
            },
        ],
    )
    (span,) = captured_content.spans
    a = attributes(span)
    assert json.loads(a[semconv.GEN_AI_SYSTEM_INSTRUCTIONS]) == [
        {"type": "text", "content": "You are a weather bot."}
    ]
    assert json.loads(a[semconv.GEN_AI_TOOL_DEFINITIONS]) == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    inputs = json.loads(a[semconv.GEN_AI_INPUT_MESSAGES])
    assert inputs[0]["parts"][0] == {"type": "text", "content": "Weather?"}
    image = inputs[0]["parts"][1]
    assert image["type"] == "blob" and image["mime_type"] == "image/png"
    assert "AAAA" not in json.dumps(inputs)  # inline data is never copied
    assert inputs[1] == {
        "role": "assistant",
        "parts": [{"type": "tool_call", "id": "toolu_1", "name": "get_weather", "arguments": {}}],
    }
    assert inputs[2]["parts"] == [
        {"type": "tool_call_response", "id": "toolu_1", "response": "rainy"}
    ]
    (output,) = json.loads(a[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert output["finish_reason"] == "tool_call"
    assert output["parts"] == [
        {"type": "reasoning", "content": "The user wants weather."},
        {"type": "text", "content": "Let me check."},
        {
            "type": "tool_call",
            "id": "toolu_2",
            "name": "get_weather",
            "arguments": {"city": "Paris"},
        },
    ]
    assert a[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_call",)
    assert a[semconv.LLMTRACE_RESPONSE_TOOL_CALLS] == ("get_weather",)


def test_parse_with_structured_output(server, captured):
    from pydantic import BaseModel

    class City(BaseModel):
        name: str

    server.add(message([{"type": "text", "text": '{"name": "Paris"}'}]))
    parsed = server.client().messages.parse(
        model=MODEL, max_tokens=100, messages=HI, output_format=City
    )
    assert parsed.parsed_output == City(name="Paris")
    (span,) = captured.spans
    assert attributes(span)[semconv.GEN_AI_OUTPUT_TYPE] == "json"
    assert attributes(span)[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 5


async def test_async_create(server, captured):
    server.add(message())
    client = server.client(asynchronous=True)
    reply = await client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert reply.id == "msg_01"
    (span,) = captured.spans
    assert attributes(span)[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 12
    assert attributes(span)[semconv.GEN_AI_RESPONSE_MODEL] == ANSWERED_BY


def test_with_raw_response_finishes_from_the_body_and_returns_it_untouched(server, captured):
    server.add(message())
    raw = server.client().messages.with_raw_response.create(model=MODEL, max_tokens=10, messages=HI)
    (span,) = captured.spans  # ended before the caller parses
    assert attributes(span)[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 5
    assert raw.headers.get("request-id") == "req_011"
    assert raw.parse().content[0].text == "Hello!"
    assert len(captured.spans) == 1


def test_with_streaming_response(server, captured):
    server.add(message())
    client = server.client()
    with client.messages.with_streaming_response.create(
        model=MODEL, max_tokens=10, messages=HI
    ) as response:
        assert captured.spans == []  # body not read yet
        assert response.parse().id == "msg_01"
    (span,) = captured.spans
    assert attributes(span)[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 12


@pytest.mark.parametrize(
    ("status", "kind", "exception"),
    [
        (429, "rate_limit_error", anthropic.RateLimitError),
        (529, "overloaded_error", anthropic.OverloadedError),
        (500, "api_error", anthropic.InternalServerError),
    ],
)
def test_errors_pass_through_unchanged_with_error_type(server, captured, status, kind, exception):
    server.add(error_body(kind, "try later"), status=status)
    with pytest.raises(exception) as raised:
        server.client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert raised.value.status_code == status
    (span,) = captured.spans
    a = attributes(span)
    assert span.status.status_code is StatusCode.ERROR
    assert a[semconv.ERROR_TYPE] == exception.__qualname__
    assert a[semconv.HTTP_RESPONSE_STATUS_CODE] == status
    assert semconv.GEN_AI_USAGE_INPUT_TOKENS not in a


async def test_async_error(server, captured):
    server.add(error_body("overloaded_error", "busy"), status=529)
    with pytest.raises(anthropic.OverloadedError):
        await server.client(asynchronous=True).messages.create(
            model=MODEL, max_tokens=10, messages=HI
        )
    (span,) = captured.spans
    assert attributes(span)[semconv.ERROR_TYPE] == "OverloadedError"


def test_count_tokens_makes_no_llm_span(server, captured):
    server.add({"input_tokens": 9})
    counted = server.client().messages.count_tokens(model=MODEL, messages=HI)
    assert counted.input_tokens == 9
    assert captured.spans == []


def test_suppressed_calls_make_no_span(server, captured):
    server.add(message())
    with suppress_instrumentation():
        server.client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert captured.spans == []


def test_uninstrument_restores_the_sdk(server, captured):
    server.add(message())
    llmtrace.uninstrument_anthropic()
    server.client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert captured.spans == []
    llmtrace.instrument_anthropic()
    server.client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert len(captured.spans) == 1


def test_span_nests_under_the_callers_span_and_prompt_is_linked(server, captured):
    server.add(message())
    prompt = llmtrace.Prompt("greet", "Say hi to {name}", version="3")
    with llmtrace.span("answer") as parent, llmtrace.use_prompt(prompt, name="Ada"):
        server.client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    llm = captured.find(f"chat {MODEL}")
    assert llm.parent.span_id == captured.find("answer").context.span_id
    assert attributes(llm)[semconv.GEN_AI_PROMPT_NAME] == "greet"
    assert parent is not None


def bedrock_client(server):
    return anthropic.AnthropicBedrock(
        aws_access_key="AKIDEXAMPLE",
        aws_secret_key="secret",
        aws_region="us-east-1",
        base_url=server.base_url,
        max_retries=0,
    )


def test_bedrock_client_is_provider_aws_bedrock(server, captured):
    server.add(message())
    client = bedrock_client(server)
    client.messages.create(
        model="anthropic.claude-sonnet-4-5-20250929-v1:0", max_tokens=10, messages=HI
    )
    assert server.requests[-1][0].startswith("/model/")
    (span,) = captured.spans
    a = attributes(span)
    assert a[semconv.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert a[semconv.GEN_AI_USAGE_COST_AMOUNT] > 0


def test_bedrock_client_is_priced_by_the_requested_profile_not_the_answering_model(
    server, captured
):
    """As boto3's Bedrock calls: a global profile costs less than a regional one."""
    client = bedrock_client(server)
    costs = []
    for geo in ("global", "us"):
        server.add(
            message(
                model="claude-sonnet-4-5-20250929",
                usage={"input_tokens": 1000, "output_tokens": 1000},
            )
        )
        model = f"{geo}.anthropic.claude-sonnet-4-5-20250929-v1:0"
        client.messages.create(model=model, max_tokens=10, messages=HI)
        a = attributes(captured.find(f"chat {model}"))
        assert a[semconv.GEN_AI_RESPONSE_MODEL] == "claude-sonnet-4-5-20250929"
        costs.append(a[semconv.GEN_AI_USAGE_COST_AMOUNT])
    assert costs[0] == pytest.approx(0.018)  # $3 + $15 per million
    assert costs[1] > costs[0]


async def test_vertex_client_is_provider_gcp_vertex_ai(server, captured):
    server.add(message())
    client = anthropic.AsyncAnthropicVertex(
        region="us-east5",
        project_id="demo",
        access_token="token",
        base_url=server.base_url,
        max_retries=0,
    )
    await client.messages.create(model="claude-sonnet-4-5@20250929", max_tokens=10, messages=HI)
    assert ":rawPredict" in server.requests[-1][0]
    (span,) = captured.spans
    a = attributes(span)
    assert a[semconv.GEN_AI_PROVIDER_NAME] == "gcp.vertex_ai"
    assert a[semconv.GEN_AI_USAGE_COST_AMOUNT] > 0


def test_user_host_mapping_names_the_provider_even_for_an_existing_client(server, captured):
    from llmtrace._genai import providers

    server.add(message())
    client = server.client()
    client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    providers.configure_hosts({f"127.0.0.1:{server.port}": "aws.bedrock"})
    try:
        client.messages.create(model=MODEL, max_tokens=10, messages=HI)
    finally:
        providers.configure_hosts({})
    names = [attributes(s)[semconv.GEN_AI_PROVIDER_NAME] for s in captured.spans]
    assert names == ["anthropic", "aws.bedrock"]


def test_beta_messages_are_traced_too(server, captured):
    server.add(message())
    client = server.client()
    client.beta.messages.create(
        model=MODEL, max_tokens=10, messages=HI, betas=["context-management-2025-06-27"]
    )
    (span,) = captured.spans
    assert attributes(span)[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 12
    assert attributes(span)[semconv.GEN_AI_PROVIDER_NAME] == "anthropic"


def test_a_spent_raising_budget_stops_the_call_before_it_is_sent(server, captured):
    server.add(message())
    client = server.client()
    with llmtrace.budget(max_usd=0.0001, on_exceed="raise") as limit:
        client.messages.create(model=MODEL, max_tokens=10, messages=HI)  # $0.000111: spent
        with pytest.raises(llmtrace.BudgetExceeded):
            client.messages.create(model=MODEL, max_tokens=10, messages=HI)
        with (
            pytest.raises(llmtrace.BudgetExceeded),
            client.messages.stream(model=MODEL, max_tokens=10, messages=HI),
        ):
            pass
    assert limit.spent_usd > 0.0001
    assert len(server.requests) == 1
    assert len(captured.spans) == 1
