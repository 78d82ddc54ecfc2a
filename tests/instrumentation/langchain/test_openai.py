"""langchain-openai over a mock transport: the LLM span, streaming, and no double counting.

With ``instrument_openai()`` on, the OpenAI span is the one LLM span (with the
cost): the ChatOpenAI run makes no span of its own and hands its run id, tags,
metadata and prompt down to it. Without it, the LangChain run's span is the
LLM span.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool

import llmtrace
from llmtrace import semconv
from tests.support.langchain_helpers import assert_one_trace, attrs, parent_name

httpx2 = pytest.importorskip("httpx2")
langchain_openai = pytest.importorskip("langchain_openai")
openai = pytest.importorskip("openai")

MODEL = "gpt-4o-mini"
ANSWERED_BY = "gpt-4o-mini-2024-07-18"


def _completion(body: dict[str, Any]) -> Any:
    if body.get("stream"):
        chunks = [
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]},
            {"choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]},
            {
                "choices": [],
                "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
            },
        ]
        base = {
            "id": "chatcmpl-s",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": ANSWERED_BY,
        }
        text = (
            "".join(f"data: {json.dumps({**base, **c})}\n\n" for c in chunks) + "data: [DONE]\n\n"
        )
        return httpx2.Response(
            200, content=text.encode(), headers={"content-type": "text/event-stream"}
        )
    return httpx2.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": ANSWERED_BY,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
        },
    )


def _handle(request: Any) -> Any:
    return _completion(json.loads(request.content))


def _transport() -> Any:
    return httpx2.MockTransport(_handle)


def chat_openai(**kwargs: Any) -> Any:
    return langchain_openai.ChatOpenAI(
        model=MODEL,
        api_key="sk-test",
        base_url="http://127.0.0.1:9/v1",
        temperature=0.3,
        stream_usage=True,
        http_client=httpx2.Client(transport=_transport()),
        http_async_client=httpx2.AsyncClient(transport=_transport()),
        **kwargs,
    )


def openai_client() -> Any:
    return openai.OpenAI(
        api_key="sk-test",
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx2.Client(transport=_transport()),
    )


def async_openai_client() -> Any:
    return openai.AsyncOpenAI(
        api_key="sk-test",
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx2.AsyncClient(transport=_transport()),
    )


def _llm_spans(captured: Any) -> list[Any]:
    return [
        s for s in captured.spans if attrs(s).get(semconv.GEN_AI_OPERATION_NAME) == semconv.OP_CHAT
    ]


@pytest.fixture
def openai_instrumented() -> Iterator[None]:
    instrumentation = pytest.importorskip("llmtrace.instrumentation.openai")
    if not hasattr(instrumentation, "instrument_openai"):
        pytest.skip("llmtrace's OpenAI instrumentation is not available")
    instrumentation.instrument_openai()
    try:
        yield
    finally:
        instrumentation.uninstrument_openai()


# -- without the OpenAI instrumentation: the LangChain run is the LLM span ------------------


def test_chat_openai_span_without_openai_instrumentation(captured, handler):
    assert chat_openai().invoke("hi", config={"callbacks": [handler]}).content == "Hello"

    (span,) = _llm_spans(captured)
    a = attrs(span)
    assert span.name == f"chat {MODEL}"
    assert a[semconv.GEN_AI_PROVIDER_NAME] == semconv.PROVIDER_OPENAI
    assert a[semconv.GEN_AI_REQUEST_MODEL] == MODEL
    assert a[semconv.GEN_AI_RESPONSE_MODEL] == ANSWERED_BY
    assert a[semconv.GEN_AI_RESPONSE_ID] == "chatcmpl-1"
    assert a[semconv.GEN_AI_REQUEST_TEMPERATURE] == 0.3
    assert a[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert (a[semconv.GEN_AI_USAGE_INPUT_TOKENS], a[semconv.GEN_AI_USAGE_OUTPUT_TOKENS]) == (5, 2)
    assert a[semconv.GEN_AI_USAGE_COST_AMOUNT] > 0
    assert a[semconv.LLMTRACE_LANGCHAIN_RUN_TYPE] == "llm"


def test_chat_openai_streaming_records_ttft_and_usage(captured, handler):
    text = "".join(c.content for c in chat_openai().stream("hi", config={"callbacks": [handler]}))

    assert text == "Hello"
    (span,) = _llm_spans(captured)
    a = attrs(span)
    assert a[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
    assert a[semconv.GEN_AI_REQUEST_STREAM] is True
    assert (a[semconv.GEN_AI_USAGE_INPUT_TOKENS], a[semconv.GEN_AI_USAGE_OUTPUT_TOKENS]) == (5, 2)
    assert a[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)


# -- with the OpenAI instrumentation: one LLM span, from OpenAI, with the run's data ---------


def _chain() -> Any:
    prompt = ChatPromptTemplate.from_messages([("human", "{q}")])
    prompt.metadata = {"llmtrace_prompt_name": "ask", "llmtrace_prompt_version": "2"}
    return prompt | chat_openai()


def _assert_single_openai_llm_span(captured: Any) -> None:
    spans = _llm_spans(captured)
    assert len(spans) == 1, captured.tree()
    a = attrs(spans[0])
    assert a[semconv.GEN_AI_PROVIDER_NAME]  # set by the OpenAI instrumentation
    assert a[semconv.LLMTRACE_LANGCHAIN_RUN_TYPE] == "llm"
    assert a[semconv.LLMTRACE_LANGCHAIN_RUN_NAME] == "ChatOpenAI"
    assert a[semconv.LLMTRACE_LANGCHAIN_TAGS] == ("team-a",)
    assert a[semconv.GEN_AI_PROMPT_NAME] == "ask"
    assert a[semconv.GEN_AI_PROMPT_VERSION] == "2"
    assert parent_name(captured, spans[0]) == "invoke_workflow RunnableSequence"
    # Tokens (and so cost) are counted once: on one span, and once in the roll-up.
    with_usage = [s for s in captured.spans if semconv.GEN_AI_USAGE_INPUT_TOKENS in attrs(s)]
    assert with_usage == spans
    assert attrs(captured.roots()[0])[semconv.LLMTRACE_LLM_CALL_COUNT] == 1
    assert attrs(captured.roots()[0])[semconv.LLMTRACE_USAGE_TOTAL_INPUT_TOKENS] == 5
    assert_one_trace(captured)


CONFIG_TAGS = ["team-a"]


def test_dedup_invoke(captured, handler, openai_instrumented):
    _chain().invoke({"q": "hi"}, config={"callbacks": [handler], "tags": CONFIG_TAGS})
    _assert_single_openai_llm_span(captured)


async def test_dedup_ainvoke(captured, handler, openai_instrumented):
    await _chain().ainvoke({"q": "hi"}, config={"callbacks": [handler], "tags": CONFIG_TAGS})
    _assert_single_openai_llm_span(captured)


def test_dedup_stream(captured, handler, openai_instrumented):
    text = "".join(
        c.content
        for c in _chain().stream({"q": "hi"}, config={"callbacks": [handler], "tags": CONFIG_TAGS})
    )
    assert text == "Hello"
    _assert_single_openai_llm_span(captured)


async def test_dedup_astream(captured, handler, openai_instrumented):
    config: Any = {"callbacks": [handler], "tags": CONFIG_TAGS}
    text = "".join([c.content async for c in _chain().astream({"q": "hi"}, config=config)])
    assert text == "Hello"
    _assert_single_openai_llm_span(captured)


async def test_dedup_astream_events(captured, handler, openai_instrumented):
    config: Any = {"callbacks": [handler], "tags": CONFIG_TAGS}
    events = [e["event"] async for e in _chain().astream_events({"q": "hi"}, config=config)]
    assert "on_chat_model_stream" in events
    _assert_single_openai_llm_span(captured)


def test_dedup_stream_events_v3(captured, handler, openai_instrumented):
    stream = chat_openai().stream_events(
        "hi", config={"callbacks": [handler], "tags": CONFIG_TAGS}, version="v3"
    )
    for _ in stream:
        pass

    (span,) = _llm_spans(captured)
    assert attrs(span)[semconv.LLMTRACE_LANGCHAIN_TAGS] == ("team-a",)


def test_stream_events_v3_records_ttft_without_openai_instrumentation(captured, handler):
    for _ in chat_openai().stream_events("hi", config={"callbacks": [handler]}, version="v3"):
        pass

    (span,) = _llm_spans(captured)
    assert attrs(span)[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0


def test_dedup_batch(captured, handler, openai_instrumented):
    _chain().batch([{"q": "a"}, {"q": "b"}], config={"callbacks": [handler], "tags": CONFIG_TAGS})

    spans = _llm_spans(captured)
    assert len(spans) == 2
    for span in spans:
        assert parent_name(captured, span) == "invoke_workflow RunnableSequence"
        assert captured.parent_of(span).context.trace_id == span.context.trace_id


def test_dedup_when_auto_instrumented(captured, instrumented, openai_instrumented):
    _chain().invoke({"q": "hi"}, config={"tags": CONFIG_TAGS})
    _assert_single_openai_llm_span(captured)


def test_root_chat_model_call_nests_under_the_callers_span(captured, handler, openai_instrumented):
    @llmtrace.trace(name="request")
    def request() -> str:
        return chat_openai().invoke("hi", config={"callbacks": [handler]}).content

    assert request() == "Hello"
    (span,) = _llm_spans(captured)
    assert parent_name(captured, span) == "request"


# -- an OpenAI call inside a LangChain tool nests under the tool ----------------------------


def test_openai_call_inside_a_tool_nests_under_the_tool(captured, handler, openai_instrumented):
    client = openai_client()

    @tool
    def ask(question: str) -> str:
        """Ask the model."""
        reply = client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": question}]
        )
        return reply.choices[0].message.content or ""

    chain = RunnableLambda(lambda q: q, name="route") | ask
    assert chain.invoke("hi", config={"callbacks": [handler]}) == "Hello"

    (span,) = _llm_spans(captured)
    assert parent_name(captured, span) == "execute_tool ask"
    assert semconv.LLMTRACE_LANGCHAIN_RUN_ID not in attrs(span)
    assert_one_trace(captured)


async def test_openai_call_inside_an_async_tool_nests_under_the_tool(
    captured, handler, openai_instrumented
):
    client = async_openai_client()

    @tool
    async def ask(question: str) -> str:
        """Ask the model."""
        reply = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": question}]
        )
        return reply.choices[0].message.content or ""

    assert await ask.ainvoke("hi", config={"callbacks": [handler]}) == "Hello"

    (span,) = _llm_spans(captured)
    assert parent_name(captured, span) == "execute_tool ask"
