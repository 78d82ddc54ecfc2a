"""The real openai-agents SDK against a local OpenAI-compatible server: two agents, a
handoff, a function tool and an input guardrail, over the Responses API and Chat
Completions, streamed and not. One LLM span per model call (the openai span), nested
under its agent span; roll-ups on the agents and the workflow; budgets stop a run."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from agents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrailTripwireTriggered,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    input_guardrail,
)
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

import llmtrace
from llmtrace import semconv
from llmtrace.instrumentation.openai import uninstrument_openai
from llmtrace.instrumentation.openai_agents import uninstrument_openai_agents
from llmtrace.testing import SpanCapture
from tests.support import agents_bodies as wire
from tests.support.openai_server import LocalServer

MODES = [
    pytest.param("responses", False, id="responses"),
    pytest.param("responses", True, id="responses-streamed"),
    pytest.param("chat", False, id="chat"),
    pytest.param("chat", True, id="chat-streamed"),
]
# What the three calls of the scenario cost: gpt-4o, 100 input and 20 output tokens each.
CALL_COST = 100 * 2.5e-6 + 20 * 10e-6


@function_tool
def get_balance(account: str) -> str:
    """The balance of an account."""
    with llmtrace.span("ledger lookup"):  # instrumented code inside the tool nests under it
        return f"$10 on {account}"


def make_agents(server: Any, api: str, *, tripwire: bool = False) -> Agent[Any]:
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
    model_class = OpenAIResponsesModel if api == "responses" else OpenAIChatCompletionsModel
    model = model_class(model="gpt-4o", openai_client=client)

    @input_guardrail
    def polite(ctx: Any, agent: Any, text: Any) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info="checked", tripwire_triggered=tripwire)

    billing = Agent(name="Billing", model=model, tools=[get_balance])
    return Agent(name="Triage", model=model, handoffs=[billing], input_guardrails=[polite])


async def run(agent: Agent[Any], streamed: bool) -> Any:
    if not streamed:
        return (await Runner.run(agent, "What is my balance?")).final_output
    result = Runner.run_streamed(agent, "What is my balance?")
    async for _ in result.stream_events():
        pass
    return result.final_output


def shape(capture: SpanCapture, span: ReadableSpan, depth: int = 0) -> list[str]:
    lines = ["  " * depth + span.name]
    for child in capture.children(span):
        lines += shape(capture, child, depth + 1)
    return lines


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


@pytest.mark.parametrize(("api", "streamed"), MODES)
async def test_span_tree_costs_and_rollups(
    captured: SpanCapture, local_server: Any, api: str, streamed: bool
) -> None:
    wire.script(local_server, api, streamed)
    with llmtrace.span("caller"):
        answer = await run(make_agents(local_server, api), streamed)
    assert answer == wire.ANSWER

    assert shape(captured, captured.find("caller")) == [
        "caller",
        "  invoke_workflow Agent workflow",
        "    invoke_agent Triage",
        "      chat gpt-4o",
        "    invoke_agent Billing",
        "      chat gpt-4o",
        "      execute_tool get_balance",
        "        ledger lookup",
        "      chat gpt-4o",
    ]
    assert len(captured.spans) == 9  # nothing else: no SDK "response"/"generation" span
    chats = captured.by_name("chat gpt-4o")
    for chat in chats:  # one LLM span per model call, each priced once
        assert attrs(chat)[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 100
        assert attrs(chat)[semconv.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(CALL_COST)
    assert [attrs(c)[semconv.GEN_AI_AGENT_NAME] for c in chats] == ["Triage", "Billing", "Billing"]

    triage, billing = captured.find("invoke_agent Triage"), captured.find("invoke_agent Billing")
    workflow = captured.find("invoke_workflow Agent workflow")
    for span, calls in ((triage, 1), (billing, 2), (workflow, 3)):
        assert attrs(span)[semconv.LLMTRACE_LLM_CALL_COUNT] == calls
        assert attrs(span)[semconv.LLMTRACE_USAGE_TOTAL_INPUT_TOKENS] == 100 * calls
        assert attrs(span)[semconv.LLMTRACE_USAGE_TOTAL_OUTPUT_TOKENS] == 20 * calls
        assert attrs(span)[semconv.LLMTRACE_COST_TOTAL] == pytest.approx(CALL_COST * calls)
    assert attrs(triage)[semconv.GEN_AI_AGENT_NAME] == "Triage"
    assert attrs(triage)[semconv.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert attrs(workflow)[semconv.LLMTRACE_OPENAI_AGENTS_TRACE_ID].startswith("trace_")

    tool = attrs(captured.find("execute_tool get_balance"))
    assert tool[semconv.GEN_AI_TOOL_NAME] == "get_balance"
    assert tool[semconv.GEN_AI_TOOL_CALL_ID] == "call_balance"
    assert tool[semconv.GEN_AI_TOOL_TYPE] == "function"
    assert semconv.GEN_AI_TOOL_CALL_ARGUMENTS not in tool  # content capture is off

    events = {e.name: dict(e.attributes or {}) for e in triage.events}
    assert events[semconv.GEN_AI_GUARDRAIL_RESULT_EVENT] == {
        semconv.GEN_AI_GUARDRAIL_COMPONENT_NAME: "polite",
        semconv.GEN_AI_GUARDRAIL_SOURCE: "input",
        semconv.GEN_AI_GUARDRAIL_RESULT_TYPE: "tripwire_triggered",
        semconv.GEN_AI_GUARDRAIL_RESULT_VALUE: "false",
    }
    assert events[semconv.LLMTRACE_AGENT_HANDOFF_EVENT] == {
        semconv.LLMTRACE_HANDOFF_FROM_AGENT: "Triage",
        semconv.LLMTRACE_HANDOFF_TO_AGENT: "Billing",
    }


async def test_tool_content_with_capture_on(
    captured_content: SpanCapture, local_server: Any
) -> None:
    wire.script(local_server, "responses", False)
    await run(make_agents(local_server, "responses"), False)
    tool = attrs(captured_content.find("execute_tool get_balance"))
    assert tool[semconv.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"account":"42"}'
    assert tool[semconv.GEN_AI_TOOL_CALL_RESULT] == '"$10 on 42"'


@pytest.mark.parametrize(("api", "streamed"), MODES)
async def test_budget_stops_the_run_at_its_next_model_call(
    captured: SpanCapture, local_server: Any, api: str, streamed: bool
) -> None:
    wire.script(local_server, api, streamed)
    with (
        pytest.raises(llmtrace.BudgetExceeded),
        llmtrace.budget(max_usd=CALL_COST / 2, on_exceed="raise") as spent,
    ):
        await run(make_agents(local_server, api), streamed)
    assert spent.spent_usd == pytest.approx(CALL_COST)
    assert len(local_server.requests) == 1  # the second model call was never sent
    assert len(captured.by_name("chat gpt-4o")) == 1
    billing = captured.find("invoke_agent Billing")
    assert billing.status.status_code is StatusCode.ERROR


async def test_tripped_guardrail(captured: SpanCapture, local_server: Any) -> None:
    wire.script(local_server, "responses", False)
    with pytest.raises(InputGuardrailTripwireTriggered):
        await run(make_agents(local_server, "responses", tripwire=True), False)
    triage = captured.find("invoke_agent Triage")
    event = next(e for e in triage.events if e.name == semconv.GEN_AI_GUARDRAIL_RESULT_EVENT)
    assert dict(event.attributes or {})[semconv.GEN_AI_GUARDRAIL_RESULT_VALUE] == "true"
    assert triage.status.status_code is StatusCode.ERROR
    assert captured.by_name("invoke_agent Billing") == []


async def test_uninstrumented_runs_keep_only_the_openai_spans(
    captured: SpanCapture, local_server: Any
) -> None:
    uninstrument_openai_agents()
    wire.script(local_server, "responses", False)
    assert await run(make_agents(local_server, "responses"), False) == wire.ANSWER
    assert sorted(captured.names()) == ["chat gpt-4o"] * 3 + ["ledger lookup"]


@pytest.mark.parametrize(("api", "streamed"), MODES)
async def test_without_the_openai_instrumentation_the_sdk_model_span_is_the_llm_span(
    captured: SpanCapture, local_server: Any, api: str, streamed: bool
) -> None:
    uninstrument_openai()
    wire.script(local_server, api, streamed)
    await run(make_agents(local_server, api), streamed)
    llm = "chat" if api == "responses" else "chat gpt-4o"  # a response span has no model
    workflow = captured.find("invoke_workflow Agent workflow")
    assert shape(captured, workflow) == [
        "invoke_workflow Agent workflow",
        "  invoke_agent Triage",
        f"    {llm}",
        "  invoke_agent Billing",
        f"    {llm}",
        "    execute_tool get_balance",
        "      ledger lookup",
        f"    {llm}",
    ]
    for chat in captured.by_name(llm):
        assert attrs(chat)[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 100
        assert attrs(chat)[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 20
        if api == "responses":  # chat spans record the requested model at most
            assert attrs(chat)[semconv.GEN_AI_RESPONSE_MODEL] == wire.MODEL
        assert attrs(chat)[semconv.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(CALL_COST)
    assert attrs(workflow)[semconv.LLMTRACE_COST_TOTAL] == pytest.approx(3 * CALL_COST)


async def test_concurrent_runs_keep_their_own_trees(captured: SpanCapture) -> None:
    servers = [LocalServer(), LocalServer()]
    try:
        for server in servers:
            wire.script(server, "chat", True)

        async def one(name: str, server: Any) -> Any:
            with llmtrace.span(name):
                return await run(make_agents(server, "chat"), True)

        answers = await asyncio.gather(one("first", servers[0]), one("second", servers[1]))
    finally:
        for server in servers:
            server.close()
    assert answers == [wire.ANSWER, wire.ANSWER]
    for name in ("first", "second"):
        assert shape(captured, captured.find(name)) == [
            name,
            "  invoke_workflow Agent workflow",
            "    invoke_agent Triage",
            "      chat gpt-4o",
            "    invoke_agent Billing",
            "      chat gpt-4o",
            "      execute_tool get_balance",
            "        ledger lookup",
            "      chat gpt-4o",
        ]


def test_run_sync(captured: SpanCapture, local_server: Any) -> None:
    wire.script(local_server, "responses", False)
    with llmtrace.span("caller"):
        result = Runner.run_sync(make_agents(local_server, "responses"), "What is my balance?")
    assert result.final_output == wire.ANSWER
    caller = captured.find("caller")
    assert [s.name for s in captured.children(caller)] == ["invoke_workflow Agent workflow"]
    billing = captured.find("invoke_agent Billing")
    assert attrs(billing)[semconv.LLMTRACE_LLM_CALL_COUNT] == 2


async def test_suppressed_runs_make_no_spans(captured: SpanCapture, local_server: Any) -> None:
    wire.script(local_server, "responses", False)
    with suppress_instrumentation():
        assert await run(make_agents(local_server, "responses"), False) == wire.ANSWER
    assert captured.spans == []
