"""langchain-google-genai on top: one LLM span and one cost per call.

With ``instrument_google_genai()`` on, the google-genai span is the LLM span: the
ChatGoogleGenerativeAI run makes no span of its own and hands its run's attributes
down to it. Without it, the LangChain run's span is the LLM span.
"""

from __future__ import annotations

from typing import Any

import pytest

from llmtrace import semconv
from llmtrace.instrumentation.google_genai import uninstrument_google_genai
from llmtrace.instrumentation.langchain import LLMTraceCallbackHandler
from llmtrace.testing import SpanCapture
from tests.support.gemini_server import MODEL, GeminiServer, response, stream_events, usage

langchain_google_genai = pytest.importorskip("langchain_google_genai")
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402

LLM_OPERATIONS = (semconv.OP_CHAT, semconv.OP_GENERATE_CONTENT)


def chat_model(server: GeminiServer) -> Any:
    return langchain_google_genai.ChatGoogleGenerativeAI(
        model=MODEL, google_api_key="test-key", base_url=server.base_url, max_retries=0
    )


def llm_spans(captured: SpanCapture) -> list[Any]:
    return [
        s
        for s in captured.spans
        if (s.attributes or {}).get(semconv.GEN_AI_OPERATION_NAME) in LLM_OPERATIONS
    ]


def with_cost(captured: SpanCapture) -> list[Any]:
    return [s for s in captured.spans if semconv.GEN_AI_USAGE_COST_AMOUNT in (s.attributes or {})]


def chain(server: GeminiServer) -> Any:
    return ChatPromptTemplate.from_messages([("human", "{q}")]) | chat_model(server)


def test_one_llm_span_from_google_genai(server: GeminiServer, captured: SpanCapture) -> None:
    server.add(response(usage_metadata=usage(8, 5)))
    handler = LLMTraceCallbackHandler()
    answer = chain(server).invoke({"q": "hi"}, config={"callbacks": [handler], "tags": ["t"]})
    assert answer.content == "Hi!"
    (span,) = llm_spans(captured)
    attrs = span.attributes
    assert span.name == f"generate_content {MODEL}"
    assert attrs[semconv.GEN_AI_PROVIDER_NAME] == "gcp.gemini"
    assert attrs[semconv.LLMTRACE_LANGCHAIN_RUN_TYPE] == "llm"  # handed down by the run
    assert attrs[semconv.LLMTRACE_LANGCHAIN_TAGS] == ("t",)
    assert with_cost(captured) == [span]
    parent = next(s for s in captured.spans if s.context.span_id == span.parent.span_id)
    assert parent.name == "invoke_workflow RunnableSequence"


def test_one_llm_span_when_streaming(server: GeminiServer, captured: SpanCapture) -> None:
    server.add(events=stream_events())
    handler = LLMTraceCallbackHandler()
    text = "".join(
        str(c.content) for c in chat_model(server).stream("hi", {"callbacks": [handler]})
    )
    assert text == "Hello there!"
    (span,) = llm_spans(captured)
    assert span.attributes[semconv.GEN_AI_REQUEST_STREAM] is True
    assert span.attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert with_cost(captured) == [span]


def test_without_google_genai_instrumentation_langchain_owns_the_span(
    server: GeminiServer, captured: SpanCapture
) -> None:
    uninstrument_google_genai()
    server.add(response(usage_metadata=usage(8, 5)))
    handler = LLMTraceCallbackHandler()
    chat_model(server).invoke("hi", config={"callbacks": [handler]})
    (span,) = llm_spans(captured)
    attrs = span.attributes
    assert attrs[semconv.GEN_AI_OPERATION_NAME] == semconv.OP_CHAT
    assert attrs[semconv.GEN_AI_PROVIDER_NAME] == "gcp.gemini"
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 8
    assert with_cost(captured) == [span]


def test_langchain_embeddings_are_embedding_spans(
    server: GeminiServer, captured: SpanCapture
) -> None:
    server.add({"embeddings": [{"values": [0.1, 0.2]}, {"values": [0.2, 0.1]}]})
    embeddings = langchain_google_genai.GoogleGenerativeAIEmbeddings(
        model="gemini-embedding-001", google_api_key="test-key", base_url=server.base_url
    )
    vectors = embeddings.embed_documents(["one", "two"])
    assert len(vectors) == 2
    (span,) = captured.spans
    assert span.name == "embeddings gemini-embedding-001"
    assert span.attributes[semconv.LLMTRACE_USAGE_ESTIMATED] is True


def test_which_instrumentation_owns_a_langchain_class() -> None:
    from llmtrace.instrumentation.langchain import _extract

    gemini = {"id": ["langchain_google_genai", "chat_models", "ChatGoogleGenerativeAI"]}
    openai = {"id": ["langchain", "chat_models", "openai", "ChatOpenAI"]}
    assert _extract.sdk_instrumentation(gemini) == "google_genai"
    assert _extract.sdk_instrumentation(openai) == "openai"
    assert _extract.sdk_instrumentation({"id": ["langchain_community", "x", "Y"]}) is None
    assert _extract.sdk_instrumentation({"id": "odd"}) is None
    assert _extract.sdk_instrumentation(None) is None
