"""Fixtures for the replays of recorded LangChain traffic (``../shared/recorded-langchain``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("langchain_openai")
pytest.importorskip("langchain_classic")
pytest.importorskip("langgraph")

import llmtrace
from llmtrace import _rollup
from llmtrace.testing import SpanCapture, capture_spans
from tests.support.langchain_replay import RECORDINGS
from tests.support.langchain_run_tree import RunTree


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


@pytest.fixture(autouse=True)
def _roll_ups_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """Only a stream closed early leaves a roll-up entry, which is then dropped here.

    Its model span ends after the root (docs/langchain.md), so its tokens go to an
    entry for a span that has already ended: bounded (least recently used first),
    but the roll-up tests count the table, so it must not outlive the test.
    """
    before = set(_rollup._open)
    yield
    with _rollup._lock:
        left = [span_id for span_id in _rollup._open if span_id not in before]
        for span_id in left:
            del _rollup._open[span_id]
    closed_early = "closed_early" in request.node.name
    assert len(left) <= (1 if closed_early else 0), left
