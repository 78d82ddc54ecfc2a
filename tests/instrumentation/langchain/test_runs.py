"""Chains, runnables, tools and retrievers become spans that follow LangChain's run tree."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda, RunnableParallel
from langchain_core.tools import tool
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import StatusCode

import llmtrace
from llmtrace import semconv
from llmtrace.instrumentation.langchain import LLMTraceCallbackHandler
from llmtrace.instrumentation.langchain._runs import registry
from tests.support.langchain_helpers import assert_one_trace, attrs, fake_chat, parent_name


class KnowledgeBase(BaseRetriever):
    """A retriever over three fixed documents (ids, scores in metadata)."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(
                id="d1", page_content="OTLP is a protocol", metadata={"score": 0.9, "src": "a"}
            ),
            Document(page_content="Spans have parents", metadata={"doc_id": "d2", "score": 0.5}),
        ]


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def test_sequence_becomes_a_workflow_with_task_children(captured, handler):
    chain = RunnableLambda(lambda x: x + 1, name="increment") | RunnableLambda(
        lambda x: x * 2, name="double"
    )

    assert chain.invoke(1, config={"callbacks": [handler]}) == 4

    root = captured.find("invoke_workflow RunnableSequence")
    assert attrs(root)[semconv.GEN_AI_OPERATION_NAME] == semconv.OP_INVOKE_WORKFLOW
    assert attrs(root)[semconv.GEN_AI_WORKFLOW_NAME] == "RunnableSequence"
    assert [s.name for s in captured.children(root)] == ["increment", "double"]
    for name in ("increment", "double"):
        assert attrs(captured.find(name))[semconv.LLMTRACE_SPAN_KIND] == "task"
    assert_one_trace(captured)


def test_run_ids_tags_and_metadata_are_recorded(captured, handler):
    step = RunnableLambda(lambda x: x, name="step")

    step.invoke(
        1,
        config={
            "callbacks": [handler],
            "tags": ["beta"],
            "metadata": {"tenant": "acme", "limits": {"k": 3}},
            "run_id": __import__("uuid").UUID("12345678-1234-5678-1234-567812345678"),
        },
    )

    span = attrs(captured.find("invoke_workflow step"))
    assert span[semconv.LLMTRACE_LANGCHAIN_RUN_ID] == "12345678-1234-5678-1234-567812345678"
    assert span[semconv.LLMTRACE_LANGCHAIN_RUN_TYPE] == "chain"
    assert span[semconv.LLMTRACE_LANGCHAIN_TAGS] == ("beta",)
    assert span[semconv.LLMTRACE_LANGCHAIN_METADATA_PREFIX + "tenant"] == "acme"
    assert json.loads(span[semconv.LLMTRACE_LANGCHAIN_METADATA_PREFIX + "limits"]) == {"k": 3}


def test_parallel_branches_nest_under_their_parallel_run(captured, handler):
    chain = RunnableParallel(
        up=RunnableLambda(lambda s: s.upper(), name="up"),
        size=RunnableLambda(len, name="size"),
    )

    assert chain.invoke("otel", config={"callbacks": [handler]}) == {"up": "OTEL", "size": 4}

    parallel = captured.find("invoke_workflow RunnableParallel<up,size>")
    assert {s.name for s in captured.children(parallel)} == {"up", "size"}
    assert_one_trace(captured)


def test_inputs_and_outputs_only_with_content_capture(captured, handler):
    RunnableLambda(lambda x: x * 2, name="double").invoke(21, config={"callbacks": [handler]})

    span = attrs(captured.find("invoke_workflow double"))
    assert semconv.LLMTRACE_INPUT not in span
    assert semconv.LLMTRACE_OUTPUT not in span


def test_content_capture_records_inputs_and_outputs(captured_content, handler):
    RunnableLambda(lambda x: {"answer": x * 2}, name="double").invoke(
        21, config={"callbacks": [handler]}
    )

    span = attrs(captured_content.find("invoke_workflow double"))
    assert json.loads(span[semconv.LLMTRACE_INPUT]) == 21
    assert json.loads(span[semconv.LLMTRACE_OUTPUT]) == {"answer": 42}


def test_a_chain_called_inside_a_traced_function_nests_under_it(captured, handler):
    chain = RunnableLambda(lambda x: x, name="echo")

    @llmtrace.trace(name="request", kind="workflow")
    def request() -> int:
        return chain.invoke(7, config={"callbacks": [handler]})

    request()

    assert parent_name(captured, captured.find("invoke_workflow echo")) == "invoke_workflow request"
    assert_one_trace(captured)


def test_code_inside_a_lambda_nests_under_the_lambda(captured, handler):
    @llmtrace.trace(name="helper")
    def helper(x: int) -> int:
        return x

    chain = RunnableLambda(lambda x: x, name="first") | RunnableLambda(helper, name="second")
    chain.invoke(1, config={"callbacks": [handler]})

    assert parent_name(captured, captured.find("helper")) == "second"
    assert_one_trace(captured)


async def test_async_lambda_body_nests_under_the_lambda(captured, handler):
    @llmtrace.trace(name="helper")
    async def helper(x: int) -> int:
        return x

    chain = RunnableLambda(lambda x: x, name="first") | RunnableLambda(helper, name="second")
    await chain.ainvoke(1, config={"callbacks": [handler]})

    assert parent_name(captured, captured.find("helper")) == "second"
    assert_one_trace(captured)
    # Nothing llmtrace made current during the run is left in the caller's context.
    assert not trace.get_current_span().get_span_context().is_valid


async def test_session_scope_reaches_every_span_of_an_async_run(captured, handler):
    chain = RunnableLambda(lambda x: x, name="first") | fake_chat()

    with llmtrace.session(session_id="s-1", user_id="u-1"):
        await chain.ainvoke("hi", config={"callbacks": [handler]})

    assert len(captured.spans) == 3
    for span in captured.spans:
        assert attrs(span)[semconv.SESSION_ID] == "s-1", span.name
        assert attrs(span)[semconv.USER_ID] == "u-1", span.name


def test_tool_span_follows_the_conventions(captured_content, handler):
    assert add.invoke({"a": 1, "b": 2}, config={"callbacks": [handler]}) == 3

    span = attrs(captured_content.find("execute_tool add"))
    assert span[semconv.GEN_AI_OPERATION_NAME] == semconv.OP_EXECUTE_TOOL
    assert span[semconv.GEN_AI_TOOL_NAME] == "add"
    assert span[semconv.LLMTRACE_LANGCHAIN_RUN_TYPE] == "tool"
    assert json.loads(span[semconv.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"a": 1, "b": 2}
    assert json.loads(span[semconv.GEN_AI_TOOL_CALL_RESULT]) == 3


def test_tool_call_id_is_recorded(captured, handler):
    add.invoke(
        {"type": "tool_call", "name": "add", "args": {"a": 1, "b": 2}, "id": "call_7"},
        config={"callbacks": [handler]},
    )

    assert attrs(captured.find("execute_tool add"))[semconv.GEN_AI_TOOL_CALL_ID] == "call_7"


def test_code_inside_a_tool_nests_under_the_tool(captured, handler):
    @llmtrace.trace(name="lookup")
    def lookup() -> str:
        return "found"

    @tool
    def search(query: str) -> str:
        """Search."""
        return lookup()

    search.invoke("x", config={"callbacks": [handler]})

    assert parent_name(captured, captured.find("lookup")) == "execute_tool search"


async def test_code_inside_an_async_tool_nests_under_the_tool(captured, handler):
    @llmtrace.trace(name="lookup")
    async def lookup() -> str:
        return "found"

    @tool
    async def search(query: str) -> str:
        """Search."""
        return await lookup()

    await search.ainvoke("x", config={"callbacks": [handler]})

    assert parent_name(captured, captured.find("lookup")) == "execute_tool search"


def test_retriever_records_query_and_documents_with_capture(captured_content, handler):
    docs = KnowledgeBase().invoke("what is otlp", config={"callbacks": [handler]})

    assert len(docs) == 2
    span = attrs(captured_content.find("KnowledgeBase"))
    assert span[semconv.GEN_AI_OPERATION_NAME] == semconv.OP_RETRIEVAL
    assert span[semconv.GEN_AI_RETRIEVAL_QUERY_TEXT] == "what is otlp"
    assert span[semconv.LLMTRACE_RETRIEVAL_DOCUMENT_COUNT] == 2
    recorded = json.loads(span[semconv.GEN_AI_RETRIEVAL_DOCUMENTS])
    assert recorded[0] == {
        "id": "d1",
        "score": 0.9,
        "content": "OTLP is a protocol",
        "metadata": {"score": 0.9, "src": "a"},
    }
    assert recorded[1]["id"] == "d2"


def test_code_inside_a_retriever_nests_under_the_retriever(captured, handler):
    @llmtrace.trace(name="embed_query")
    def embed_query(text: str) -> list[float]:
        return [0.0]

    class Embedding(KnowledgeBase):
        def _get_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
            embed_query(query)
            return []

    Embedding().invoke("q", config={"callbacks": [handler]})

    assert parent_name(captured, captured.find("embed_query")) == "Embedding"


async def test_code_inside_an_async_retriever_nests_under_the_retriever(captured, handler):
    @llmtrace.trace(name="embed_query")
    async def embed_query(text: str) -> list[float]:
        return [0.0]

    class Embedding(KnowledgeBase):
        async def _aget_relevant_documents(self, query: str, *, run_manager: Any) -> list[Document]:
            await embed_query(query)
            return []

    await Embedding().ainvoke("q", config={"callbacks": [handler]})

    assert parent_name(captured, captured.find("embed_query")) == "Embedding"


def test_retriever_without_capture_records_no_query_or_documents(captured, handler):
    KnowledgeBase().invoke("secret question", config={"callbacks": [handler]})

    span = attrs(captured.find("KnowledgeBase"))
    assert span[semconv.LLMTRACE_RETRIEVAL_DOCUMENT_COUNT] == 2
    assert semconv.GEN_AI_RETRIEVAL_QUERY_TEXT not in span
    assert semconv.GEN_AI_RETRIEVAL_DOCUMENTS not in span


def test_retriever_inside_a_chain(captured, handler):
    prompt = ChatPromptTemplate.from_messages([("human", "{context}")])
    chain = {"context": KnowledgeBase()} | prompt | fake_chat()

    chain.invoke("q", config={"callbacks": [handler]})

    assert parent_name(captured, captured.find("KnowledgeBase")) == "RunnableParallel<context>"
    assert_one_trace(captured)


def test_error_ends_the_span_with_error_and_the_exception_propagates(captured, handler):
    def boom(_: int) -> int:
        raise KeyError("missing")

    chain = RunnableLambda(lambda x: x, name="ok") | RunnableLambda(boom, name="boom")
    with pytest.raises(KeyError, match="missing"):
        chain.invoke(1, config={"callbacks": [handler]})

    failed = captured.find("boom")
    assert failed.status.status_code is StatusCode.ERROR
    assert attrs(failed)[semconv.ERROR_TYPE] == "KeyError"
    assert [e.name for e in failed.events] == ["exception"]
    root = captured.find("invoke_workflow RunnableSequence")
    assert root.status.status_code is StatusCode.ERROR


def test_tool_error_is_recorded(captured, handler):
    @tool
    def broken(x: int) -> int:
        """Always fails."""
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        broken.invoke({"x": 1}, config={"callbacks": [handler]})

    assert captured.find("execute_tool broken").status.status_code is StatusCode.ERROR


def test_retries_are_events_on_the_retrying_run(captured, handler):
    from types import SimpleNamespace

    from langchain_core.callbacks import CallbackManager

    run = CallbackManager.configure([handler]).on_chain_start({}, {}, name="fetch")
    run.on_retry(SimpleNamespace(attempt_number=1))  # as tenacity's RetryCallState
    run.on_chain_end({})

    (event,) = captured.find("invoke_workflow fetch").events
    assert event.name == semconv.LLMTRACE_LANGCHAIN_RETRY_EVENT
    assert event.attributes[semconv.LLMTRACE_LANGCHAIN_RETRY_ATTEMPT] == 1


def test_suppressed_instrumentation_gives_no_spans(captured, handler):
    with suppress_instrumentation():
        RunnableLambda(lambda x: x, name="quiet").invoke(1, config={"callbacks": [handler]})

    assert captured.spans == []
    assert len(registry) == 0


def test_tracing_off_keeps_no_run_state(handler):
    RunnableLambda(lambda x: x, name="off").invoke(1, config={"callbacks": [handler]})

    assert len(registry) == 0


def test_internal_error_is_logged_not_raised(captured, handler, lenient, monkeypatch, caplog):
    from llmtrace.instrumentation.langchain import _extract

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("llmtrace bug")

    monkeypatch.setattr(_extract, "run_attributes", broken)
    with caplog.at_level(logging.WARNING, logger="llmtrace"):
        assert RunnableLambda(lambda x: x + 1).invoke(1, config={"callbacks": [handler]}) == 2

    assert "llmtrace internal error" in caplog.text


def test_the_users_exception_is_unchanged_under_lenient_mode(captured, handler, lenient):
    class Custom(Exception):
        pass

    error = Custom("mine")

    def fail(_: int) -> int:
        raise error

    with pytest.raises(Custom) as raised:
        RunnableLambda(fail).invoke(1, config={"callbacks": [handler]})

    assert raised.value is error


def test_an_abandoned_stream_ends_every_span_without_error(captured, handler):
    def numbers(_: object):  # a generator runnable
        yield from range(10)

    chain = RunnableLambda(lambda x: x, name="first") | RunnableLambda(numbers, name="numbers")
    stream = chain.stream(0, config={"callbacks": [handler]})
    assert next(stream) == 0
    stream.close()

    root = captured.find("invoke_workflow RunnableSequence")
    assert root.status.status_code is not StatusCode.ERROR
    # LangChain never ends the inner generator's run; llmtrace ends it with the root.
    assert attrs(captured.find("numbers"))[semconv.LLMTRACE_LANGCHAIN_UNFINISHED] is True
    assert len(registry) == 0


def test_kind_override_from_metadata_applies_to_that_run_only(captured, handler):
    inner = RunnableLambda(lambda x: x, name="plan")
    agent = (RunnableLambda(lambda x: x, name="think") | inner).with_config(
        run_name="planner", metadata={"llmtrace_kind": "agent"}
    )

    agent.invoke(1, config={"callbacks": [handler]})

    root = captured.find("invoke_agent planner")
    assert attrs(root)[semconv.GEN_AI_AGENT_NAME] == "planner"
    assert attrs(captured.find("plan"))[semconv.LLMTRACE_SPAN_KIND] == "task"


def test_two_explicit_handlers_do_not_double_spans(captured):
    RunnableLambda(lambda x: x, name="once").invoke(
        1, config={"callbacks": [LLMTraceCallbackHandler(), LLMTraceCallbackHandler()]}
    )

    assert captured.names() == ["invoke_workflow once"]


def _question_chain() -> Any:
    prompt = ChatPromptTemplate.from_messages([("human", "Answer: {question}")])
    return prompt | fake_chat()


def test_astream_records_the_real_input_on_the_root_span(captured_content, handler):
    # LangChain starts a streamed run with the placeholder {"input": ""} and hands the
    # real input over only at the end (on_chain_end(..., inputs=...)).

    async def consume() -> None:
        async for _ in _question_chain().astream(
            {"question": "Hi"}, config={"callbacks": [handler]}
        ):
            pass

    asyncio.run(consume())

    root = captured_content.roots()[0]
    assert json.loads(attrs(root)[semconv.LLMTRACE_INPUT]) == {"question": "Hi"}


def test_stream_records_the_real_input_on_the_root_span(captured_content, handler):
    for _ in _question_chain().stream({"question": "Hi"}, config={"callbacks": [handler]}):
        pass

    root = captured_content.roots()[0]
    assert json.loads(attrs(root)[semconv.LLMTRACE_INPUT]) == {"question": "Hi"}
