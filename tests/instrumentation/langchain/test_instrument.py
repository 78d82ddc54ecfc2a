"""instrument_langchain(): the same spans with no change to the user's code, never doubled."""

from __future__ import annotations

import subprocess
import sys

from langchain_core.callbacks import CallbackManager
from langchain_core.runnables import RunnableLambda

import llmtrace
from llmtrace.instrumentation.langchain import (
    LangChainInstrumentor,
    LLMTraceCallbackHandler,
    instrument_langchain,
    is_instrumented,
    uninstrument_langchain,
)
from tests.support.langchain_helpers import fake_chat


def _chain():
    return RunnableLambda(lambda x: x, name="step") | fake_chat()


def test_instrumented_runs_are_traced_without_a_handler(captured, instrumented):
    _chain().invoke("hi")

    root = captured.find("invoke_workflow RunnableSequence")
    assert sorted(s.name for s in captured.children(root)) == ["chat", "step"]


def test_instrumented_and_explicit_handler_give_the_same_spans(captured, handler):
    _chain().invoke("hi", config={"callbacks": [handler]})
    explicit = sorted(captured.names())
    captured.clear()

    instrument_langchain()
    try:
        _chain().invoke("hi")
    finally:
        uninstrument_langchain()

    assert sorted(captured.names()) == explicit


def test_instrumenting_twice_does_not_double_spans(captured):
    instrument_langchain()
    instrument_langchain()
    try:
        _chain().invoke("hi")
    finally:
        uninstrument_langchain()

    assert len(captured.by_name("chat")) == 1
    assert is_instrumented() is False


def test_auto_and_explicit_handler_together_do_not_double_spans(captured, instrumented, handler):
    _chain().invoke("hi", config={"callbacks": [handler]})
    (RunnableLambda(lambda x: x, name="local")).invoke(
        1, config={"callbacks": [LLMTraceCallbackHandler()]}
    )

    assert len(captured.by_name("chat")) == 1
    assert len(captured.by_name("invoke_workflow local")) == 1


def test_every_callback_manager_gets_one_handler(instrumented):
    manager = CallbackManager(handlers=[])
    copied = manager.copy().merge(CallbackManager(handlers=[]))

    for m in (manager, copied):
        ours = [h for h in m.handlers if isinstance(h, LLMTraceCallbackHandler)]
        assert len(ours) == 1


def test_uninstrument_stops_tracing_runs_without_a_handler(captured):
    instrument_langchain()
    uninstrument_langchain()

    _chain().invoke("hi")

    assert captured.spans == []
    assert CallbackManager(handlers=[]).handlers == []


def test_instrumentor_is_an_opentelemetry_instrumentor():
    instrumentor = LangChainInstrumentor()
    assert "langchain-core >= 0.3" in instrumentor.instrumentation_dependencies()
    instrumentor.instrument()
    try:
        assert is_instrumented()
    finally:
        instrumentor.uninstrument()
    assert not is_instrumented()


def test_public_names_are_lazily_exposed():
    assert llmtrace.instrument_langchain is instrument_langchain
    assert llmtrace.uninstrument_langchain is uninstrument_langchain


def test_importing_llmtrace_does_not_import_langchain():
    code = (
        "import sys, llmtrace\n"
        "llmtrace.trace(lambda: None)()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('langchain', 'langgraph'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stderr
