"""The instrumentor's contract and the processor's edges, with the SDK's public tracing
API (``agents.trace``, ``custom_span``) and a real run where one is needed."""

from __future__ import annotations

from typing import Any

import agents
import openai
import pytest
import wrapt
from agents import (
    Agent,
    GuardrailFunctionOutput,
    OpenAIResponsesModel,
    OutputGuardrailTripwireTriggered,
    Runner,
    ToolGuardrailFunctionOutput,
    function_tool,
    output_guardrail,
    tool_input_guardrail,
    tool_output_guardrail,
)
from agents.tool_context import ToolContext
from opentelemetry.trace import StatusCode

import llmtrace
from llmtrace import semconv
from llmtrace.instrumentation.openai_agents import (
    _processor,
    instrument_openai_agents,
    is_instrumented,
    trace_processor,
    uninstrument_openai_agents,
)
from llmtrace.testing import SpanCapture
from tests.support import agents_bodies as wire


def test_sdk_traces_and_custom_spans(captured: SpanCapture) -> None:
    with llmtrace.span("caller"):
        with agents.trace("Support flow", group_id="conversation-7"):
            with agents.custom_span("lookup", {"k": 1}):
                with llmtrace.span("inside"):
                    pass
    workflow = captured.find("invoke_workflow Support flow")
    assert captured.parent_of(workflow) is captured.find("caller")
    assert workflow.attributes[semconv.GEN_AI_CONVERSATION_ID] == "conversation-7"
    assert workflow.attributes[semconv.GEN_AI_WORKFLOW_NAME] == "Support flow"
    lookup = captured.find("lookup")
    assert captured.parent_of(lookup) is workflow
    assert captured.parent_of(captured.find("inside")) is lookup
    assert len(trace_processor()) == 0


def test_contexts_are_restored(captured: SpanCapture) -> None:
    from opentelemetry import trace

    before = trace.get_current_span()
    with agents.trace("flow"), agents.custom_span("step"):
        assert trace.get_current_span() is not before
    assert trace.get_current_span() is before


def test_registered_twice_traces_once(captured: SpanCapture) -> None:
    agents.add_trace_processor(trace_processor())  # now in the SDK's list twice
    with agents.trace("flow"), agents.custom_span("step"):
        pass
    assert sorted(captured.names()) == ["invoke_workflow flow", "step"]


def test_uninstrumented_makes_no_spans_and_restores_the_sdk(captured: SpanCapture) -> None:
    uninstrument_openai_agents()
    assert not is_instrumented()
    assert isinstance(ToolContext.__dict__["from_agent_context"], classmethod)
    assert not isinstance(agents.InputGuardrail.__dict__["run"], wrapt.FunctionWrapper)
    with agents.trace("flow"), agents.custom_span("step"):
        pass
    assert captured.spans == []
    instrument_openai_agents()
    instrument_openai_agents()  # idempotent
    with agents.trace("flow"):
        pass
    assert captured.names() == ["invoke_workflow flow"]


def test_open_spans_are_bounded(captured: SpanCapture, monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry import trace

    monkeypatch.setattr(_processor, "MAX_OPEN", 2)
    before = trace.get_current_span()
    with agents.trace("flow"):
        spans = [agents.custom_span(f"s{i}") for i in range(4)]
        for span in spans:
            span.start(mark_as_current=True)
        assert len(trace_processor()) == 2  # the trace and s0 were ended early
        for span in reversed(spans):
            span.finish(reset_current=True)
    assert len(trace_processor()) == 0
    assert sorted(captured.names()) == ["invoke_workflow flow", "s0", "s1", "s2", "s3"]
    assert trace.get_current_span() is before  # every context undone, evicted ones too


def test_internal_errors_never_reach_the_sdk(captured: SpanCapture, lenient: None) -> None:
    class Broken:
        @property
        def span_id(self) -> str:
            raise RuntimeError("bug")

    trace_processor().on_span_start(Broken())  # type: ignore[arg-type]
    trace_processor().on_span_end(Broken())  # type: ignore[arg-type]
    trace_processor().on_trace_start(Broken())  # type: ignore[arg-type]


@function_tool
def failing_lookup(account: str) -> str:
    """Always fails."""
    raise ValueError("ledger down")


async def test_a_failing_tool_marks_its_span(captured: SpanCapture, local_server: Any) -> None:
    local_server.add(wire.response([wire.function_item(("call_f", "failing_lookup", "{}"))]))
    local_server.add(wire.response([wire.message_item(wire.ANSWER)]))
    client = openai.AsyncOpenAI(base_url=local_server.base_url, api_key="sk-test", max_retries=0)
    agent = Agent(
        name="Clerk",
        model=OpenAIResponsesModel(model="gpt-4o", openai_client=client),
        tools=[failing_lookup],
    )
    result = await Runner.run(agent, "balance?")
    assert result.final_output == wire.ANSWER  # the SDK told the model the tool failed
    tool = captured.find("execute_tool failing_lookup")
    assert tool.status.status_code is StatusCode.ERROR
    assert tool.attributes[semconv.ERROR_TYPE] == "_OTHER"
    assert tool.attributes[semconv.GEN_AI_TOOL_CALL_ID] == "call_f"


@tool_input_guardrail
def no_secrets(data: Any) -> ToolGuardrailFunctionOutput:
    return ToolGuardrailFunctionOutput.allow(output_info="clean")


@tool_output_guardrail
def short_answers(data: Any) -> ToolGuardrailFunctionOutput:
    return ToolGuardrailFunctionOutput.reject_content("too long", output_info="long")


@function_tool(tool_input_guardrails=[no_secrets], tool_output_guardrails=[short_answers])
def guarded_lookup(account: str) -> str:
    """A guarded tool."""
    return "$10"


async def test_tool_guardrails_are_events_on_the_tool_span(
    captured: SpanCapture, local_server: Any
) -> None:
    local_server.add(wire.response([wire.function_item(("call_g", "guarded_lookup", "{}"))]))
    local_server.add(wire.response([wire.message_item(wire.ANSWER)]))
    client = openai.AsyncOpenAI(base_url=local_server.base_url, api_key="sk-test", max_retries=0)
    agent = Agent(
        name="Clerk",
        model=OpenAIResponsesModel(model="gpt-4o", openai_client=client),
        tools=[guarded_lookup],
    )
    await Runner.run(agent, "balance?")
    tool = captured.find("execute_tool guarded_lookup")
    events = [dict(e.attributes or {}) for e in tool.events]
    assert events == [
        {
            semconv.GEN_AI_GUARDRAIL_SOURCE: "tool_input",
            semconv.GEN_AI_GUARDRAIL_COMPONENT_NAME: "no_secrets",
            semconv.GEN_AI_GUARDRAIL_RESULT_TYPE: "behavior",
            semconv.GEN_AI_GUARDRAIL_RESULT_VALUE: "allow",
        },
        {
            semconv.GEN_AI_GUARDRAIL_SOURCE: "tool_output",
            semconv.GEN_AI_GUARDRAIL_COMPONENT_NAME: "short_answers",
            semconv.GEN_AI_GUARDRAIL_RESULT_TYPE: "behavior",
            semconv.GEN_AI_GUARDRAIL_RESULT_VALUE: "reject_content",
        },
    ]
    assert {e.name for e in tool.events} == {semconv.GEN_AI_GUARDRAIL_RESULT_EVENT}


def test_never_switches_the_sdk_tracing_back_on(captured: SpanCapture) -> None:
    agents.set_tracing_disabled(True)
    try:
        uninstrument_openai_agents()
        instrument_openai_agents()
        with agents.trace("flow"), agents.custom_span("step"):
            pass
        assert agents.tracing.get_trace_provider().create_trace("probe").trace_id == "no-op"
    finally:
        agents.set_tracing_disabled(False)
    assert captured.spans == []


@output_guardrail
def no_numbers(ctx: Any, agent: Any, output: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered="$" in str(output))


async def test_output_guardrail(captured: SpanCapture, local_server: Any) -> None:
    local_server.add(wire.response([wire.message_item(wire.ANSWER)]))
    client = openai.AsyncOpenAI(base_url=local_server.base_url, api_key="sk-test", max_retries=0)
    agent = Agent(
        name="Clerk",
        model=OpenAIResponsesModel(model="gpt-4o", openai_client=client),
        output_guardrails=[no_numbers],
    )
    with pytest.raises(OutputGuardrailTripwireTriggered):
        await Runner.run(agent, "balance?")
    clerk = captured.find("invoke_agent Clerk")
    (event,) = (e for e in clerk.events if e.name == semconv.GEN_AI_GUARDRAIL_RESULT_EVENT)
    assert dict(event.attributes or {}) == {
        semconv.GEN_AI_GUARDRAIL_SOURCE: "output",
        semconv.GEN_AI_GUARDRAIL_COMPONENT_NAME: "no_numbers",
        semconv.GEN_AI_GUARDRAIL_RESULT_TYPE: "tripwire_triggered",
        semconv.GEN_AI_GUARDRAIL_RESULT_VALUE: "true",
    }
    assert clerk.status.status_code is StatusCode.ERROR
