"""LiteLLM calls against local servers: one LLM span each, the provider LiteLLM resolved,
usage counted once, cost, errors passed through, content off by default."""

from __future__ import annotations

import subprocess
import sys
import types

import litellm
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmtrace
from llmtrace import semconv
from llmtrace._genai import providers
from llmtrace.instrumentation.litellm import (
    LiteLLMInstrumentor,
    instrument_litellm,
    is_instrumented,
    uninstrument_litellm,
)
from llmtrace.instrumentation.litellm._request import provider_name
from llmtrace.testing import SpanCapture
from tests.support.litellm_bodies import USER, anthropic_message, chat_body, embedding_body
from tests.support.openai_server import LocalServer

A = semconv


def _openai(server: LocalServer, **kwargs: object) -> object:
    return litellm.completion(
        model="openai/gpt-4o-mini",
        messages=USER,
        api_base=server.base_url,
        api_key="sk-test",
        max_retries=0,
        **kwargs,
    )


def _only_llm_span(captured: SpanCapture) -> object:
    llm = [s for s in captured.spans if s.attributes.get(A.GEN_AI_OPERATION_NAME)]
    assert len(llm) == 1, captured.tree()
    return llm[0]


def test_openai_compatible_call_is_one_llm_span(server: LocalServer, captured: SpanCapture) -> None:
    server.add(chat_body())
    response = _openai(server)
    assert response.choices[0].message.content == "Hello!"
    span = _only_llm_span(captured)  # the openai SDK's own span beneath is not opened
    attrs = span.attributes
    assert span.name == "chat gpt-4o-mini"
    assert attrs[A.GEN_AI_OPERATION_NAME] == "chat"
    # LiteLLM's "openai" pointed at another host: named by the host, as a base_url is
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "openai_compatible"
    assert attrs[A.LLMTRACE_LITELLM_PROVIDER] == "openai"
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 10
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert attrs[A.GEN_AI_USAGE_COST_AMOUNT] > 0
    assert attrs[A.SERVER_ADDRESS] == "127.0.0.1"
    assert attrs[A.SERVER_PORT] == server.port
    assert A.GEN_AI_INPUT_MESSAGES not in attrs  # content is off by default
    assert A.GEN_AI_OUTPUT_MESSAGES not in attrs


def test_user_host_mapping_names_the_provider(server: LocalServer, captured: SpanCapture) -> None:
    providers.configure_hosts({f"127.0.0.1:{server.port}": "openai"})
    try:
        server.add(chat_body())
        _openai(server)
    finally:
        providers.configure_hosts({})
    assert _only_llm_span(captured).attributes[A.GEN_AI_PROVIDER_NAME] == "openai"


def test_hosted_vllm_is_the_vllm_provider(server: LocalServer, captured: SpanCapture) -> None:
    server.add({**chat_body(), "model": "meta-llama/Llama-3.1-8B-Instruct"})
    litellm.completion(
        model="hosted_vllm/meta-llama/Llama-3.1-8B-Instruct",
        messages=USER,
        api_base=server.base_url,
        max_retries=0,
    )
    attrs = _only_llm_span(captured).attributes
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "vllm"
    assert attrs[A.LLMTRACE_LITELLM_PROVIDER] == "hosted_vllm"
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "meta-llama/Llama-3.1-8B-Instruct"
    assert A.GEN_AI_USAGE_COST_AMOUNT not in attrs  # self-hosted open weights: unpriced


def test_anthropic_cache_tokens_are_counted_once(
    server: LocalServer, captured: SpanCapture
) -> None:
    server.add(anthropic_message())
    response = litellm.completion(
        model="anthropic/claude-3-5-haiku-latest",
        messages=USER,
        api_base=f"http://127.0.0.1:{server.port}",
        api_key="sk-ant-test",
    )
    assert response.choices[0].message.content == "Hi there"
    assert server.requests[-1][0] == "/v1/messages"
    attrs = _only_llm_span(captured).attributes
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == "claude-3-5-haiku-20241022"
    # LiteLLM's prompt_tokens already hold the cache reads and writes: 5 + 100 + 20
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 125
    assert attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 100
    assert attrs[A.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 20
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert attrs[A.GEN_AI_USAGE_COST_AMOUNT] > 0


def test_content_capture(server: LocalServer, captured_content: SpanCapture) -> None:
    server.add(chat_body("Hello there!"))
    _openai(server, tools=[{"type": "function", "function": {"name": "lookup"}}])
    attrs = _only_llm_span(captured_content).attributes
    assert "Say hello" in str(attrs[A.GEN_AI_INPUT_MESSAGES])
    assert "Hello there!" in str(attrs[A.GEN_AI_OUTPUT_MESSAGES])
    assert "lookup" in str(attrs[A.GEN_AI_TOOL_DEFINITIONS])


async def test_acompletion(server: LocalServer, captured: SpanCapture) -> None:
    server.add(chat_body())
    response = await litellm.acompletion(
        model="openai/gpt-4o-mini",
        messages=USER,
        api_base=server.base_url,
        api_key="sk-test",
        max_retries=0,
    )
    assert response.choices[0].message.content == "Hello!"
    attrs = _only_llm_span(captured).attributes
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 10


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_embedding(server: LocalServer, captured: SpanCapture, asynchronous: bool) -> None:
    server.add(embedding_body())
    kwargs = {
        "model": "openai/text-embedding-3-small",
        "input": ["hello"],
        "api_base": server.base_url,
        "api_key": "sk-test",
    }
    if asynchronous:
        response = await litellm.aembedding(**kwargs)
    else:
        response = litellm.embedding(**kwargs)
    assert len(response.data) == 1
    span = _only_llm_span(captured)
    attrs = span.attributes
    assert span.name == "embeddings text-embedding-3-small"
    assert attrs[A.GEN_AI_OPERATION_NAME] == "embeddings"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 4
    assert attrs[A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 4


def test_error_passes_through_unchanged(server: LocalServer, captured: SpanCapture) -> None:
    error = {"error": {"message": "bad model", "type": "invalid_request_error", "code": None}}
    server.add(error, status=400)
    with pytest.raises(litellm.BadRequestError) as raised:
        _openai(server)
    assert "bad model" in str(raised.value)
    span = _only_llm_span(captured)
    assert span.status.status_code.name == "ERROR"
    assert span.attributes[A.ERROR_TYPE] == "BadRequestError"
    assert span.attributes[A.HTTP_RESPONSE_STATUS_CODE] == 400


@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": "ten", "completion_tokens": -1},
        {},
        None,
    ],
)
def test_odd_usage_never_raises(server: LocalServer, captured: SpanCapture, usage: object) -> None:
    body = chat_body()
    if usage is None:
        del body["usage"]
    else:
        body["usage"] = usage
    server.add(body)
    try:
        response = _openai(server)
    except Exception as exc:
        assert not isinstance(exc, AssertionError)
        response = None
    assert response is None or response.choices[0].message.content == "Hello!"
    span = _only_llm_span(captured)
    assert span.end_time is not None


def test_rolls_up_into_the_parent_once(server: LocalServer, captured: SpanCapture) -> None:
    server.add(chat_body())
    with llmtrace.budget(1.0) as spending, llmtrace.span("request"):
        _openai(server)
    llm = _only_llm_span(captured)
    parent = captured.find("request")
    cost = llm.attributes[A.GEN_AI_USAGE_COST_AMOUNT]
    assert parent.attributes[A.LLMTRACE_COST_TOTAL] == pytest.approx(cost)
    assert parent.attributes[A.LLMTRACE_USAGE_TOTAL_INPUT_TOKENS] == 10
    assert spending.spent_usd == pytest.approx(cost)


def test_suppressed_calls_make_no_spans(server: LocalServer, captured: SpanCapture) -> None:
    server.add(chat_body())
    with suppress_instrumentation():
        _openai(server)
    assert captured.spans == []


def test_providers_given_to_instrument(server: LocalServer, captured: SpanCapture) -> None:
    uninstrument_litellm()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    LiteLLMInstrumentor().instrument(
        tracer_provider=provider,
        meter_provider=MeterProvider(metric_readers=[reader]),
        skip_dep_check=True,
    )
    try:
        server.add(chat_body())
        _openai(server)
    finally:
        LiteLLMInstrumentor().uninstrument()
    assert [s.name for s in exporter.get_finished_spans()] == ["chat gpt-4o-mini"]
    assert captured.spans == []  # nor does the openai SDK's span appear in llmtrace's own
    data = reader.get_metrics_data()
    names = {
        metric.name
        for resource in (data.resource_metrics if data else ())
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert {A.METRIC_INFERENCE_DURATION, A.METRIC_INFERENCE_INPUT_TOKENS} <= names


def test_init_instruments_litellm() -> None:
    uninstrument_litellm()
    llmtrace.init(exporter="none", instrument=["litellm"])
    assert is_instrumented()


def test_litellm_provider_names_are_in_the_registry() -> None:
    """Every LiteLLM provider name we document maps to a registry row (priced or not)."""
    expected = {
        "openai": "openai",
        "anthropic": "anthropic",
        "together_ai": "together_ai",
        "hosted_vllm": "vllm",
        "azure": "azure.ai.openai",
        "azure_ai": "azure.ai.inference",
        "bedrock": "aws.bedrock",
        "vertex_ai": "gcp.vertex_ai",
        "gemini": "gcp.gemini",
        "mistral": "mistral_ai",
        "groq": "groq",
        "deepseek": "deepseek",
        "xai": "x_ai",
        "fireworks_ai": "fireworks",
        "cohere_chat": "cohere",
        "ollama_chat": "ollama",
        "openrouter": "openrouter",
        "text-completion-openai": "openai",
    }
    for name, provider in expected.items():
        assert provider_name(name, None, None) == provider, name
        known, _ = providers.price_id(provider)
        assert known, provider


def test_uninstrument_restores_litellm(server: LocalServer, captured: SpanCapture) -> None:
    assert is_instrumented()
    assert type(litellm.completion) is not types.FunctionType  # wrapped
    assert type(litellm.Router.completion) is not types.FunctionType
    uninstrument_litellm()
    assert not is_instrumented()
    assert type(litellm.completion) is types.FunctionType  # LiteLLM's own again
    assert type(litellm.Router.completion) is types.FunctionType
    server.add(chat_body())
    _openai(server)
    # only the openai SDK's span: LiteLLM's is gone, and nothing suppresses the SDK's
    assert [s.attributes[A.GEN_AI_PROVIDER_NAME] for s in captured.spans] == ["openai_compatible"]
    instrument_litellm()
    instrument_litellm()  # idempotent
    assert is_instrumented()


def test_positional_arguments(server: LocalServer, captured_content: SpanCapture) -> None:
    server.add(chat_body())
    litellm.completion(
        "openai/gpt-4o-mini", USER, api_base=server.base_url, api_key="sk-test", max_retries=0
    )
    attrs = _only_llm_span(captured_content).attributes
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert "Say hello" in str(attrs[A.GEN_AI_INPUT_MESSAGES])


def test_prompt_linkage(server: LocalServer, captured: SpanCapture) -> None:
    greet = llmtrace.Prompt("greet", "Hello {name}!", variant="warm")
    server.add(chat_body())
    with llmtrace.use_prompt(greet):
        _openai(server)
    attrs = _only_llm_span(captured).attributes
    assert attrs[A.GEN_AI_PROMPT_NAME] == "greet"
    assert attrs[A.GEN_AI_PROMPT_VERSION] == greet.version
    assert attrs[A.LLMTRACE_PROMPT_VARIANT] == "warm"


def test_raising_budget_stops_the_next_call(server: LocalServer, captured: SpanCapture) -> None:
    server.add(chat_body())
    with llmtrace.budget(0.000001, on_exceed="raise"):
        _openai(server)  # $0.0000027: over the limit once it is priced
        with pytest.raises(llmtrace.BudgetExceeded):
            _openai(server)
    assert len(server.requests) == 1  # refused before reaching the provider


def test_litellm_is_patched_when_imported_later() -> None:
    """init() does not import LiteLLM (seconds of import time); importing it patches it."""
    code = (
        "import os, sys, types\n"
        "os.environ['LITELLM_LOCAL_MODEL_COST_MAP'] = 'True'\n"
        "from llmtrace.instrumentation.litellm import instrument_litellm\n"
        "instrument_litellm()\n"
        "assert 'litellm' not in sys.modules\n"
        "import litellm\n"
        "assert type(litellm.completion) is not types.FunctionType\n"
        "assert type(litellm.Router.acompletion) is not types.FunctionType\n"
        "print('patched')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("patched")
