"""Reliability suite fixtures: each test starts without an llmtrace setup; measured figures
can be saved (``LLMTRACE_RELIABILITY_FIGURES=path``). Soak variants are deselected by the
default ``-m 'not soak'`` and run with ``-m soak`` (counts scaled by LLMTRACE_SOAK_SCALE).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmtrace import _setup
from tests.support.reliability import Figures, reset_otel_globals


def pytest_sessionfinish(session: pytest.Session) -> None:
    Figures.write()


@pytest.fixture(autouse=True)
def _fresh_globals() -> Iterator[None]:
    """Each test may init() its own exporting setup; start and end without one."""
    handle = _setup.active()
    if handle is not None:
        handle.shutdown(timeout=2)
    reset_otel_globals()
    yield


@pytest.fixture
def instrumented() -> Iterator[None]:
    """The OpenAI and LangChain auto-instrumentations on for one test."""
    from llmtrace.instrumentation.langchain import instrument_langchain, uninstrument_langchain
    from llmtrace.instrumentation.openai import instrument_openai, uninstrument_openai

    instrument_openai()
    instrument_langchain()
    try:
        yield
    finally:
        uninstrument_langchain()
        uninstrument_openai()
