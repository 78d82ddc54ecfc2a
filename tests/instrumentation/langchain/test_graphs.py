"""LangGraph graphs and agent loops, and concurrent runs: correct, disjoint trees."""

from __future__ import annotations

import asyncio
import json
import sys
import warnings
from typing import Any, TypedDict

import pytest
from langchain_core.agents import AgentAction, AgentFinish
from langchain_core.callbacks import CallbackManager
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import tool

import llmtrace
from llmtrace import semconv
from tests.support.langchain_helpers import (
    ToolCallingFakeChatModel,
    assert_one_trace,
    attrs,
    fake_chat,
    parent_name,
    reply,
)

langgraph_graph = pytest.importorskip("langgraph.graph")
StateGraph, START, END = langgraph_graph.StateGraph, langgraph_graph.START, langgraph_graph.END
PY310 = sys.version_info < (3, 11)


class State(TypedDict):
    question: str
    answer: str


@llmtrace.trace(name="normalise")
def normalise(text: str) -> str:
    return text.strip().lower()


def _graph(model: Any, *, use_async: bool = False) -> Any:
    def clean(state: State) -> dict[str, str]:
        return {"question": normalise(state["question"])}

    async def aclean(state: State) -> dict[str, str]:
        await asyncio.sleep(0)
        return {"question": normalise(state["question"])}

    def answer(state: State) -> dict[str, str]:
        return {"answer": model.invoke(state["question"]).content}

    async def aanswer(state: State, config: RunnableConfig) -> dict[str, str]:
        # Before Python 3.11 LangGraph cannot hand an async node's config (and so the
        # callbacks passed to ainvoke) down implicitly; its docs say to pass it on.
        # Auto-instrumentation needs neither (test_langgraph_graph_instrumented).
        message = await model.ainvoke(state["question"], config if PY310 else None)
        return {"answer": message.content}

    graph = StateGraph(State)
    graph.add_node("clean", aclean if use_async else clean)
    graph.add_node("answer", aanswer if use_async else answer)
    graph.add_edge(START, "clean")
    graph.add_edge("clean", "answer")
    graph.add_edge("answer", END)
    return graph.compile()


def _check_graph_tree(captured: Any) -> None:
    root = captured.find("invoke_workflow LangGraph")
    assert [s.name for s in captured.children(root)] == ["clean", "answer"]
    assert parent_name(captured, captured.find("normalise")) == "clean"
    assert parent_name(captured, captured.find("chat")) == "answer"
    node = attrs(captured.find("answer"))
    assert node[semconv.LLMTRACE_LANGCHAIN_METADATA_PREFIX + "langgraph_node"] == "answer"
    assert_one_trace(captured)


def test_langgraph_graph_sync(captured, handler):
    out = _graph(fake_chat()).invoke({"question": " Hi "}, config={"callbacks": [handler]})

    assert out["answer"] == "hello there"
    _check_graph_tree(captured)


async def test_langgraph_graph_async(captured, handler):
    graph = _graph(fake_chat(), use_async=True)
    out = await graph.ainvoke({"question": " Hi "}, config={"callbacks": [handler]})

    assert out["answer"] == "hello there"
    _check_graph_tree(captured)


async def test_langgraph_graph_instrumented(captured, instrumented):
    await _graph(fake_chat(), use_async=True).ainvoke({"question": " Hi "})

    _check_graph_tree(captured)


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def test_agent_loop_with_tool_calls(captured_content, handler):
    prebuilt = pytest.importorskip("langgraph.prebuilt")
    model = ToolCallingFakeChatModel(
        messages=iter(
            [
                reply("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "call_1"}]),
                reply("The answer is 3."),
            ]
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agent = prebuilt.create_react_agent(model, [add], name="calculator")

    out = agent.invoke({"messages": [("user", "1+2?")]}, config={"callbacks": [handler]})

    assert out["messages"][-1].content == "The answer is 3."
    tool_span = captured_content.find("execute_tool add")
    assert parent_name(captured_content, tool_span) == "tools"
    assert attrs(tool_span)[semconv.GEN_AI_TOOL_CALL_ID] == "call_1"
    assert json.loads(attrs(tool_span)[semconv.GEN_AI_TOOL_CALL_RESULT]) == "3"
    chats = captured_content.by_name("chat")
    assert len(chats) == 2
    first_output = json.loads(attrs(chats[0])[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert first_output[0]["parts"][0]["name"] == "add"
    assert_one_trace(captured_content)
    root = captured_content.roots()[0]
    assert attrs(root)[semconv.LLMTRACE_LLM_CALL_COUNT] == 2


def test_agent_actions_and_finish_are_events_and_make_the_run_an_agent(captured_content, handler):
    manager = CallbackManager(handlers=[handler])
    run = manager.on_chain_start({"name": "executor"}, {"input": "1+2?"}, name="executor")
    run.on_agent_action(AgentAction(tool="add", tool_input={"a": 1, "b": 2}, log="calling add"))
    run.on_agent_finish(AgentFinish(return_values={"output": "3"}, log="done"))
    run.on_chain_end({"output": "3"})

    span = captured_content.find("invoke_agent executor")
    assert attrs(span)[semconv.GEN_AI_OPERATION_NAME] == semconv.OP_INVOKE_AGENT
    assert attrs(span)[semconv.LLMTRACE_SPAN_KIND] == "agent"  # relabelled from its chain kind
    action, finish = span.events
    assert action.name == semconv.LLMTRACE_LANGCHAIN_AGENT_ACTION_EVENT
    assert action.attributes[semconv.GEN_AI_TOOL_NAME] == "add"
    assert json.loads(action.attributes[semconv.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"a": 1, "b": 2}
    assert finish.name == semconv.LLMTRACE_LANGCHAIN_AGENT_FINISH_EVENT
    assert json.loads(finish.attributes[semconv.LLMTRACE_OUTPUT]) == {"output": "3"}


async def test_hundred_concurrent_async_chains_have_disjoint_correct_trees(
    captured_content, handler
):
    @llmtrace.trace(name="work")
    async def work(x: dict[str, Any]) -> str:
        await asyncio.sleep(0.001 * (int(x["q"]) % 3))
        return x["q"]

    prompt = ChatPromptTemplate.from_messages([("human", "{q}")])

    async def one(i: int) -> None:
        chain = (
            RunnableLambda(work, name="work_step")
            | (lambda q: {"q": q})
            | prompt
            | fake_chat(AIMessage(content=f"answer {i}"))
        )
        message = await chain.ainvoke({"q": str(i)}, config={"callbacks": [handler]})
        assert message.content == f"answer {i}"

    await asyncio.gather(*(one(i) for i in range(100)))

    roots = captured_content.roots()
    assert len(roots) == 100
    assert len({r.context.trace_id for r in roots if r.context}) == 100
    by_trace: dict[int, list[Any]] = {}
    for span in captured_content.spans:
        assert span.parent is None or captured_content.parent_of(span) is not None
        by_trace.setdefault(span.context.trace_id, []).append(span)
    for spans in by_trace.values():
        names = {s.name: s for s in spans}
        assert set(names) == {
            "invoke_workflow RunnableSequence",
            "work_step",
            "work",
            "RunnableLambda",
            "ChatPromptTemplate",
            "chat",
        }
        question = json.loads(attrs(names["work"])[semconv.LLMTRACE_OUTPUT])
        output = json.loads(attrs(names["chat"])[semconv.GEN_AI_OUTPUT_MESSAGES])
        assert output[0]["parts"][0]["content"] == f"answer {question}"
        assert captured_content.parent_of(names["work"]) is names["work_step"]
