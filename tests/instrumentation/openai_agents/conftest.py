"""Fixtures for the Agents SDK tests: llmtrace's openai and openai-agents instrumentation
around each test, the SDK's processors replaced by llmtrace's alone (nothing is ever
exported to OpenAI's backend), and the local OpenAI-compatible server of
tests/support/openai_server.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace

agents = pytest.importorskip("agents", reason="openai-agents is not installed")

from llmtrace.instrumentation.openai import instrument_openai, uninstrument_openai  # noqa: E402
from llmtrace.instrumentation.openai_agents import (  # noqa: E402
    instrument_openai_agents,
    trace_processor,
    uninstrument_openai_agents,
)
from tests.support.openai_server import LocalServer  # noqa: E402


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    # Only llmtrace's processor: the SDK's default one would export to api.openai.com.
    agents.set_trace_processors([trace_processor()])
    instrument_openai()
    instrument_openai_agents()
    try:
        yield
    finally:
        uninstrument_openai_agents()
        uninstrument_openai()
        assert len(trace_processor()) == 0, "a span of the SDK was left open"
        # No span left current in the test's context (a context attached and never undone).
        assert not trace.get_current_span().get_span_context().is_valid


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    try:
        yield server
    finally:
        server.close()
