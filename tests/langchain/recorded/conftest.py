"""Fixtures for the replays of recorded LangChain traffic (``../shared/recorded-langchain``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("langchain_openai")
pytest.importorskip("langchain_classic")
pytest.importorskip("langgraph")

from cassette_replay import RECORDINGS
from run_tree import RunTree

import llmtrace
from llmtrace.testing import SpanCapture, capture_spans


@pytest.fixture(autouse=True)
def _recordings_present() -> None:
    if not RECORDINGS.is_dir():
        pytest.skip(f"recorded LangChain traffic not found at {RECORDINGS.resolve()}")


@pytest.fixture
def traced() -> Iterator[SpanCapture]:
    """``llmtrace.init()`` with its defaults (LangChain and OpenAI instrumented); spans kept."""
    handle = llmtrace.init(exporter="none", metrics=False, console=False)
    assert set(handle.instrumented) >= {"openai", "langchain"}
    with capture_spans() as capture:
        yield capture


@pytest.fixture
def run_tree() -> RunTree:
    return RunTree()
