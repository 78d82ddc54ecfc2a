"""Fixtures for the LangChain tests: a handler, auto-instrumentation, fake models."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

pytest.importorskip("langchain_core")

from opentelemetry import context as otel_context
from opentelemetry import trace

from llmtrace._genai.lifecycle import LLM_SPAN_ATTRIBUTES_KEY
from llmtrace.instrumentation.langchain import (
    LLMTraceCallbackHandler,
    instrument_langchain,
    uninstrument_langchain,
)
from llmtrace.instrumentation.langchain._runs import registry
from llmtrace.instrumentation.langchain._scope import SLOT_KEY


@pytest.fixture(autouse=True)
def _no_runs_left_open() -> Iterator[None]:
    """Every test must leave no LangChain run behind in llmtrace's registry."""
    yield
    left = len(registry)
    registry.clear()
    assert left == 0, f"{left} LangChain runs still open after the test"


@pytest.fixture(autouse=True)
def _context_left_clean(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No span, hand-down or bracket is left current, and no context failed to detach."""
    with caplog.at_level(logging.ERROR, logger="opentelemetry.context"):
        yield
    assert not trace.get_current_span().get_span_context().is_valid
    assert otel_context.get_value(LLM_SPAN_ATTRIBUTES_KEY) is None
    assert otel_context.get_value(SLOT_KEY) is None
    failures = [r for r in caplog.records if r.name.startswith("opentelemetry.context")]
    assert not failures, [r.getMessage() for r in failures]


@pytest.fixture
def handler() -> LLMTraceCallbackHandler:
    return LLMTraceCallbackHandler()


@pytest.fixture
def instrumented() -> Iterator[None]:
    instrument_langchain()
    try:
        yield
    finally:
        uninstrument_langchain()
