"""Bugs in llmtrace's own code never reach the app: each extractor, accumulator, token,
pricing and metrics function is made to raise, and the user's call still returns its
normal result while the span is still exported with what was known.

The ``lenient`` fixture runs the never-raise guard as in production (log, don't raise).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from typing import Any

import pytest

import llmtrace
from llmtrace import semconv
from llmtrace.testing import SpanCapture
from tests.support.reliability import (
    ANSWER,
    ANSWERED_BY,
    CHAT_MODEL,
    Figures,
    OpenAIHandler,
    ask,
    chat_chunks,
    llm_spans,
    openai_client,
)

pytest.importorskip("openai")
pytest.importorskip("langchain_core")

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from llmtrace.instrumentation.openai import instrument_openai, uninstrument_openai

OPENAI = "llmtrace.instrumentation.openai"
LANGCHAIN = "llmtrace.instrumentation.langchain"


class Injected(RuntimeError):
    """The fault: raised by the patched llmtrace function."""


class Fault:
    """Replaces ``module.attr`` (a function or ``Class.method``) with one that raises."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.calls = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        module_name, _, attr = self.target.partition(":")
        owner: Any = importlib.import_module(module_name)
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part)

        def broken(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            raise Injected(self.target)

        monkeypatch.setattr(owner, name, broken)


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch, lenient: None) -> Callable[[str], Fault]:
    def install(target: str) -> Fault:
        fault = Fault(target)
        fault.install(monkeypatch)
        return fault

    return install


# -- OpenAI -------------------------------------------------------------------------------

OPENAI_FAULTS = [
    f"{OPENAI}._instrumentor:invocation_for",
    f"{OPENAI}._instrumentor:add_request_content",
    f"{OPENAI}._instrumentor:estimation_input",
    f"{OPENAI}._instrumentor:apply_response",
    f"{OPENAI}._instrumentor:OpenAIStreamHooks.on_chunk",
    f"{OPENAI}._instrumentor:OpenAIStreamHooks._finish_choices",
    f"{OPENAI}._response:usage_from_openai",
    f"{OPENAI}._response:tool_call_names",
    f"{OPENAI}._messages:chat_output_messages",
    f"{OPENAI}._messages:chat_input_messages",
    f"{OPENAI}._messages:tool_definitions",
    f"{OPENAI}._stream:usage_from_openai",
    f"{OPENAI}._stream:estimate_usage",
    f"{OPENAI}._stream:set_tool_calls",
    "llmtrace._genai.pricing:cost_for",
    "llmtrace._genai.metrics:record",
    "llmtrace._genai.budgets:charge",
    "llmtrace._rollup:add_llm_call",
    "llmtrace._genai.record:to_json",
    "llmtrace._genai.record:InvocationRecord.end_attributes",
    "llmtrace._genai.tokens:_counter",
]


def _sync_call() -> str:
    return str(ask(openai_client()).choices[0].message.content)


def _call_in_budget_under_a_span() -> str:
    """A call with a budget to charge and a parent span to roll its cost up to."""
    with llmtrace.budget(max_usd=100.0), llmtrace.span("workflow"):
        return _sync_call()


def _stream_call() -> str:
    stream = ask(openai_client(), stream=True)
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def _stream_without_usage_call() -> str:
    """A server that sends no usage chunk: llmtrace estimates the tokens itself."""
    chunks = [c for c in chat_chunks() if c["choices"]]
    stream = ask(openai_client(OpenAIHandler(chunks=chunks)), stream=True)
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def _async_call() -> str:
    async def run() -> str:
        client = openai_client(asynchronous=True)
        response = await ask_async(client)
        return str(response.choices[0].message.content)

    return asyncio.run(run())


async def ask_async(client: Any) -> Any:
    return await client.chat.completions.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": "Capital of France?"}]
    )


CALLS = {
    "sync": _sync_call,
    "sync-budgeted": _call_in_budget_under_a_span,
    "stream": _stream_call,
    "stream-estimated": _stream_without_usage_call,
    "async": _async_call,
}


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("target", OPENAI_FAULTS)
def test_an_openai_call_survives_a_fault_in_llmtrace(
    target: str,
    call: str,
    faulty: Callable[[str], Fault],
    captured_content: SpanCapture,
) -> None:
    fault = faulty(target)
    assert CALLS[call]() == ANSWER  # the user's result, untouched

    (span,) = llm_spans(captured_content.spans)  # still exported ...
    assert span.end_time is not None
    attributes = dict(span.attributes or {})
    # ... with what was known before (or apart from) the broken step.
    assert attributes[semconv.GEN_AI_OPERATION_NAME] == "chat"
    assert attributes[semconv.GEN_AI_PROVIDER_NAME]
    if "invocation_for" not in target:
        assert attributes[semconv.GEN_AI_REQUEST_MODEL] == CHAT_MODEL
    response_lost = ("apply_response", "_finish_choices", "end_attributes")
    if not any(step in target for step in response_lost) and not call.startswith("stream"):
        assert attributes.get(semconv.GEN_AI_RESPONSE_MODEL) == ANSWERED_BY
    Figures.add("faults.openai_cases", 1)
    Figures.add("faults.openai_cases_hit", 1 if fault.calls else 0)


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("target", OPENAI_FAULTS)
def test_every_openai_fault_point_is_reached(target: str, faulty: Callable[[str], Fault]) -> None:
    """Each fault is actually hit by at least one kind of call (else the test above is moot)."""
    fault = faulty(target)
    from llmtrace.testing import capture_spans

    with capture_spans(capture_content=True):
        for run in CALLS.values():
            run()
    assert fault.calls > 0, f"{target} was never called"


def test_a_fault_is_reported_once_with_its_traceback(
    faulty: Callable[[str], Fault], caplog: pytest.LogCaptureFixture
) -> None:
    from llmtrace import _errors

    _errors._seen.clear()
    instrument_openai()
    try:
        faulty(f"{OPENAI}._instrumentor:apply_response")
        from llmtrace.testing import capture_spans

        with capture_spans(), caplog.at_level(logging.DEBUG, logger="llmtrace"):
            for _ in range(5):
                assert _sync_call() == ANSWER
    finally:
        uninstrument_openai()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].exc_info is not None
    assert "the application is not affected" in warnings[0].getMessage()


# -- LangChain ----------------------------------------------------------------------------

LANGCHAIN_FAULTS = [
    f"{LANGCHAIN}._extract:run_name",
    f"{LANGCHAIN}._extract:run_attributes",
    f"{LANGCHAIN}._extract:provider_name",
    f"{LANGCHAIN}._extract:fill_request",
    f"{LANGCHAIN}._extract:fill_response",
    f"{LANGCHAIN}._extract:messages_to_genai",
    f"{LANGCHAIN}._extract:simplify",
    f"{LANGCHAIN}._extract:usage_from_langchain",
    f"{LANGCHAIN}._extract:tool_definitions",
    f"{LANGCHAIN}._extract:prompt_template",
    "llmtrace._genai.pricing:cost_for",
    "llmtrace._genai.metrics:record",
]


def _chain_result() -> str:
    model = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage(
                    content="hello there",
                    usage_metadata={"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
                    response_metadata={"model_name": "fake-1", "finish_reason": "stop"},
                )
            ]
        )
    )
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | model | StrOutputParser()
    return str(chain.invoke({"q": "hi"}))


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("target", LANGCHAIN_FAULTS)
def test_a_langchain_chain_survives_a_fault_in_llmtrace(
    target: str, faulty: Callable[[str], Fault], captured_content: SpanCapture
) -> None:
    fault = faulty(target)
    assert _chain_result() == "hello there"
    assert fault.calls > 0, f"{target} was never called"

    spans = captured_content.spans
    assert all(s.end_time is not None for s in spans)
    llm = [s for s in spans if s.kind.name == "CLIENT"]
    assert len(llm) == 1, captured_content.tree()
    attributes = dict(llm[0].attributes or {})
    assert attributes[semconv.GEN_AI_OPERATION_NAME] == "chat"
    assert len(captured_content.roots()) == 1  # the chain's spans still form one trace
    Figures.add("faults.langchain_cases", 1)
