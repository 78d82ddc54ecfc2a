"""langchain-anthropic on top of the Anthropic instrumentation: one LLM span and one cost
per call. ChatAnthropic calls ``messages.with_raw_response.create``; with
``instrument_anthropic()`` on, that span is the LLM span and the LangChain run hands
its attributes down to it, as for langchain-openai."""

from __future__ import annotations

from typing import Any

import pytest

from llmtrace import semconv
from tests.support.anthropic_server import ANSWERED_BY, MODEL, message, text_stream_events

langchain_anthropic = pytest.importorskip("langchain_anthropic")
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402

from llmtrace.instrumentation.langchain import LLMTraceCallbackHandler  # noqa: E402


def chat(server: Any, **kwargs: Any) -> Any:
    return langchain_anthropic.ChatAnthropic(
        model=MODEL,
        api_key="sk-ant-test",
        base_url=server.base_url,
        max_retries=0,
        max_tokens=64,
        **kwargs,
    )


def llm_spans(captured: Any) -> list[Any]:
    return [s for s in captured.spans if (s.attributes or {}).get(semconv.GEN_AI_OPERATION_NAME)]


def assert_one_llm_span(captured: Any, input_tokens: int) -> Any:
    (span,) = [s for s in llm_spans(captured) if s.name.startswith("chat ")]
    a = dict(span.attributes or {})
    assert a[semconv.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert a[semconv.GEN_AI_RESPONSE_MODEL] == ANSWERED_BY
    assert a[semconv.LLMTRACE_LANGCHAIN_RUN_TYPE] == "llm"  # handed down by the run
    assert a[semconv.LLMTRACE_LANGCHAIN_RUN_NAME] == "ChatAnthropic"
    assert a[semconv.GEN_AI_USAGE_INPUT_TOKENS] == input_tokens
    with_cost = [
        s for s in captured.spans if semconv.GEN_AI_USAGE_COST_AMOUNT in (s.attributes or {})
    ]
    assert with_cost == [span]
    root = captured.roots()[0]
    assert root.attributes[semconv.LLMTRACE_LLM_CALL_COUNT] == 1
    assert root.attributes[semconv.LLMTRACE_USAGE_TOTAL_INPUT_TOKENS] == input_tokens
    return span


def test_invoke_is_one_llm_span(server, captured):
    server.add(message())
    prompt = ChatPromptTemplate.from_messages([("human", "{q}")])
    reply = (prompt | chat(server)).invoke(
        {"q": "hi"}, config={"callbacks": [LLMTraceCallbackHandler()]}
    )
    assert reply.content == "Hello!"
    assert_one_llm_span(captured, 12)


def test_stream_is_one_llm_span(server, captured):
    server.add(events=text_stream_events())
    prompt = ChatPromptTemplate.from_messages([("human", "{q}")])
    chunks = list(
        (prompt | chat(server)).stream(
            {"q": "hi"}, config={"callbacks": [LLMTraceCallbackHandler()]}
        )
    )
    assert "".join(str(c.content) for c in chunks) == "Hello!"
    span = assert_one_llm_span(captured, 150)
    assert span.attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 7


async def test_ainvoke_is_one_llm_span(server, captured):
    server.add(message())
    prompt = ChatPromptTemplate.from_messages([("human", "{q}")])
    await (prompt | chat(server)).ainvoke(
        {"q": "hi"}, config={"callbacks": [LLMTraceCallbackHandler()]}
    )
    assert_one_llm_span(captured, 12)


def test_without_the_anthropic_instrumentation_the_run_is_the_llm_span(server, captured):
    from llmtrace.instrumentation.anthropic import uninstrument_anthropic

    uninstrument_anthropic()
    server.add(message())
    chat(server).invoke("hi", config={"callbacks": [LLMTraceCallbackHandler()]})
    (span,) = llm_spans(captured)
    assert span.attributes[semconv.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert span.attributes[semconv.LLMTRACE_LANGCHAIN_RUN_TYPE] == "llm"
    assert span.attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 12


async def test_astream_is_one_llm_span(server, captured):
    server.add(events=text_stream_events())
    chunks = [
        chunk
        async for chunk in chat(server).astream(
            "hi", config={"callbacks": [LLMTraceCallbackHandler()]}
        )
    ]
    assert "".join(str(c.content) for c in chunks) == "Hello!"
    (span,) = llm_spans(captured)
    assert span.attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 150
    assert span.attributes[semconv.LLMTRACE_LANGCHAIN_RUN_TYPE] == "llm"
