"""OpenTelemetry's instrumentor contract, checked once for every instrumentor: the entry
point, init() by default and by name, the tracer_provider / meter_provider given to
instrument(), uninstrument, idempotence and suppression.

Each case makes one traced call of its SDK against the local server its own tests use;
provider-specific checks stay in ``tests/instrumentation/<name>/``."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmtrace
from llmtrace import semconv
from llmtrace.testing import SpanCapture

Call = Callable[[], None]


def _openai(stack: ExitStack) -> Call:
    from tests.support import openai_bodies as bodies
    from tests.support.openai_server import json_response, make_client

    def call() -> None:
        client, _ = make_client(json_response(bodies.chat()))
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
        )

    return call


def _anthropic(stack: ExitStack) -> Call:
    from tests.support.anthropic_server import MODEL, LocalServer, message

    server = stack.enter_context(_closing(LocalServer()))

    def call() -> None:
        server.add(message())
        server.client().messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "Hi"}]
        )

    return call


def _google_genai(stack: ExitStack) -> Call:
    from tests.support.gemini_server import GeminiServer, make_client, response, usage

    server = stack.enter_context(_closing(GeminiServer()))

    def call() -> None:
        server.add(response(usage_metadata=usage()))
        make_client(server).models.generate_content(model="gemini-2.5-flash", contents="Hi")

    return call


BEDROCK_MODEL = "meta.llama3-1-8b-instruct-v1:0"


def _bedrock(stack: ExitStack) -> Call:
    from tests.support.bedrock_server import BedrockServer

    server = stack.enter_context(_closing(BedrockServer()))
    server.json({"generation": "Hi", "prompt_token_count": 3, "generation_token_count": 1})

    def call() -> None:  # a client made now: bedrock wraps the clients created while on
        server.client().invoke_model(modelId=BEDROCK_MODEL, body=b'{"prompt": "Hi"}')["body"].read()

    return call


def _langchain(stack: ExitStack) -> Call:
    from langchain_core.prompts import ChatPromptTemplate

    from tests.support.langchain_helpers import fake_chat

    def call() -> None:
        (ChatPromptTemplate.from_messages([("user", "{q}")]) | fake_chat()).invoke({"q": "Hi"})

    return call


def _openai_agents(stack: ExitStack) -> Call:
    import agents

    from llmtrace.instrumentation.openai_agents import trace_processor

    # Only llmtrace's processor: the SDK's default one would export to api.openai.com.
    agents.set_trace_processors([trace_processor()])

    def call() -> None:
        with agents.trace("flow"), agents.custom_span("step"):
            pass

    return call


def _mcp(stack: ExitStack) -> Call:
    from llmtrace.instrumentation.mcp._instrumentor import mcp_major

    if mcp_major() >= 2:
        pytest.skip("mcp 2.x opens these spans itself")
    from mcp.server.fastmcp import FastMCP
    from mcp.shared.memory import create_connected_server_and_client_session

    async def session_call() -> None:
        server = FastMCP("contract")  # made now: the server's handlers are wrapped when made

        @server.tool()
        def echo(text: str) -> str:
            return text

        async with create_connected_server_and_client_session(server._mcp_server) as session:
            result = await session.call_tool("echo", {"text": "hi"})
        assert result.isError is False  # the tool still answers, traced or not

    return lambda: asyncio.run(session_call())


@contextmanager
def _closing(server: Any) -> Iterator[Any]:
    try:
        yield server
    finally:
        server.close()


@dataclass(frozen=True)
class Case:
    name: str  # the name init(instrument=[...]) and LLMTRACE_INSTRUMENT take
    instrumentor: str  # the class in llmtrace.instrumentation.<name>
    requires: str  # the SDK, skipped when absent
    setup: Callable[[ExitStack], Call]  # the local server; returns one traced call
    spans: list[str]  # the sorted names of the spans one call makes
    metrics: set[str] = field(default_factory=set)  # recorded into the given meter_provider

    @property
    def module(self) -> Any:
        return importlib.import_module(f"llmtrace.instrumentation.{self.name}")

    def instrument(self) -> None:
        getattr(self.module, f"instrument_{self.name}")()

    def uninstrument(self) -> None:
        getattr(self.module, f"uninstrument_{self.name}")()

    def is_instrumented(self) -> bool:
        return bool(self.module.is_instrumented())


INFERENCE = {semconv.METRIC_INFERENCE_DURATION, semconv.METRIC_INFERENCE_INPUT_TOKENS}
CASES = [
    Case("openai", "OpenAIInstrumentor", "openai", _openai, ["chat gpt-4o-mini"], INFERENCE),
    Case(
        "anthropic",
        "AnthropicInstrumentor",
        "anthropic",
        _anthropic,
        ["chat claude-sonnet-4-5"],
        INFERENCE | {semconv.METRIC_COST},
    ),
    Case(
        "google_genai",
        "GoogleGenAIInstrumentor",
        "google.genai",
        _google_genai,
        ["generate_content gemini-2.5-flash"],
        INFERENCE,
    ),
    Case(
        "bedrock",
        "BedrockInstrumentor",
        "boto3",
        _bedrock,
        [f"text_completion {BEDROCK_MODEL}"],
        INFERENCE,
    ),
    Case(
        "langchain",
        "LangChainInstrumentor",
        "langchain_core",
        _langchain,
        ["ChatPromptTemplate", "chat", "invoke_workflow RunnableSequence"],
        {semconv.METRIC_INFERENCE_DURATION},
    ),
    Case(
        "openai_agents",
        "OpenAIAgentsInstrumentor",
        "agents",
        _openai_agents,
        ["invoke_workflow flow", "step"],
    ),
    Case("mcp", "MCPInstrumentor", "mcp", _mcp, ["tools/call echo", "tools/call echo"]),
]


@pytest.fixture(params=CASES, ids=[case.name for case in CASES])
def case(request: pytest.FixtureRequest) -> Iterator[Case]:
    case: Case = request.param
    pytest.importorskip(case.requires)
    case.instrument()
    try:
        yield case
    finally:
        case.uninstrument()


@pytest.fixture
def call(case: Case) -> Iterator[Call]:
    with ExitStack() as stack:
        yield case.setup(stack)


def _metric_names(reader: InMemoryMetricReader) -> set[str]:
    data = reader.get_metrics_data()
    return {
        metric.name
        for resource in (data.resource_metrics if data else ())
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }


ENTRY_POINTS = {
    "llmtrace_openai": "OpenAIInstrumentor",
    "llmtrace_langchain": "LangChainInstrumentor",
    "llmtrace_bedrock": "BedrockInstrumentor",
    "llmtrace_anthropic": "AnthropicInstrumentor",
    "llmtrace_google_genai": "GoogleGenAIInstrumentor",
    "llmtrace_litellm": "LiteLLMInstrumentor",
    "llmtrace_openai_agents": "OpenAIAgentsInstrumentor",
    "llmtrace_mcp": "MCPInstrumentor",
}


@pytest.mark.parametrize(("name", "cls"), ENTRY_POINTS.items())
def test_entry_point_loads_the_instrumentor(name: str, cls: str) -> None:
    (found,) = entry_points(group="opentelemetry_instrumentor", name=name)
    module = importlib.import_module(f"llmtrace.instrumentation.{name.removeprefix('llmtrace_')}")
    assert found.load() is getattr(module, cls)


def test_init_turns_it_on_by_default(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    case.uninstrument()
    monkeypatch.delenv("LLMTRACE_INSTRUMENT", raising=False)
    handle = llmtrace.init(exporter="none", console=False, metrics=False)
    assert case.name in handle.instrumented
    assert case.is_instrumented()
    llmtrace.shutdown()
    assert not case.is_instrumented()


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_init_instruments_it_by_name(
    case: Case, call: Call, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case.uninstrument()
    exporter = InMemorySpanExporter()
    if how == "argument":
        handle = llmtrace.init(exporter=exporter, instrument=[case.name], console=False)
    else:
        monkeypatch.setenv("LLMTRACE_INSTRUMENT", case.name)
        handle = llmtrace.init(exporter=exporter, console=False)
    try:
        assert handle.instrumented == [case.name]
        call()
        llmtrace.force_flush()
        assert sorted(s.name for s in exporter.get_finished_spans()) == case.spans
    finally:
        handle.shutdown()
    assert not case.is_instrumented()


def test_spans_and_metrics_go_to_the_providers_given_to_instrument(
    case: Case, call: Call, captured: SpanCapture
) -> None:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    case.uninstrument()  # the fixture's patch, which uses llmtrace's own setup
    instrumentor = getattr(case.module, case.instrumentor)()
    instrumentor.instrument(
        tracer_provider=tracer_provider, meter_provider=meter_provider, skip_dep_check=True
    )
    try:
        call()
    finally:
        instrumentor.uninstrument()
    spans = exporter.get_finished_spans()
    assert sorted(s.name for s in spans) == case.spans
    assert {s.instrumentation_scope.name for s in spans} == {"llmtrace"}
    assert case.metrics <= _metric_names(reader)
    if semconv.METRIC_INFERENCE_INPUT_TOKENS in case.metrics:
        assert any((s.attributes or {}).get(semconv.GEN_AI_USAGE_INPUT_TOKENS) for s in spans)
    assert captured.spans == []  # the given providers win over llmtrace's own setup


def test_uninstrument_stops_the_spans_and_is_safe_twice(
    case: Case, call: Call, captured: SpanCapture
) -> None:
    case.uninstrument()
    assert not case.is_instrumented()
    call()
    assert captured.spans == []
    case.uninstrument()
    assert not case.is_instrumented()


def test_instrument_is_idempotent(case: Case, call: Call, captured: SpanCapture) -> None:
    case.instrument()
    case.instrument()
    call()
    assert sorted(captured.names()) == case.spans


def test_suppression_gives_no_span(case: Case, call: Call, captured: SpanCapture) -> None:
    with suppress_instrumentation():
        call()
    assert captured.spans == []
