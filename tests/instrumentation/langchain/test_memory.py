"""Run state never leaks: released when the root ends, bounded in count and age otherwise."""

from __future__ import annotations

import gc
import os
import tracemalloc
import uuid
from collections.abc import Iterator

import pytest
from langchain_core.callbacks import CallbackManager
from langchain_core.language_models import FakeListChatModel
from langchain_core.runnables import RunnableLambda

from llmtrace import _rollup, semconv
from llmtrace.instrumentation.langchain import LLMTraceCallbackHandler
from llmtrace.instrumentation.langchain._runs import registry
from llmtrace.testing import SpanCapture
from tests.support.langchain_helpers import attrs


@pytest.fixture
def small_registry() -> Iterator[None]:
    saved = registry.max_open, registry.max_age
    registry.max_open = 50
    try:
        yield
    finally:
        registry.max_open, registry.max_age = saved


def _start_chain(manager: CallbackManager, name: str, parent: uuid.UUID | None = None) -> uuid.UUID:
    run_id = uuid.uuid4()
    for handler in manager.handlers:
        handler.on_chain_start({"name": name}, {}, run_id=run_id, parent_run_id=parent, name=name)
    return run_id


def test_children_that_never_end_are_released_when_the_root_ends(captured, handler):
    manager = CallbackManager.configure([handler])
    root = manager.on_chain_start({"name": "root"}, {}, name="root")
    child = root.get_child().on_chain_start({"name": "child"}, {}, name="child")
    child.get_child().on_chain_start({"name": "grandchild"}, {}, name="grandchild")
    assert len(registry) == 3

    root.on_chain_end({})

    assert len(registry) == 0
    for name in ("child", "grandchild"):
        assert attrs(captured.find(name))[semconv.LLMTRACE_LANGCHAIN_UNFINISHED] is True
    assert semconv.LLMTRACE_LANGCHAIN_UNFINISHED not in attrs(captured.find("invoke_workflow root"))


def test_roots_that_never_end_are_bounded_in_count(captured, handler, small_registry):
    manager = CallbackManager.configure([handler])
    for i in range(200):
        _start_chain(manager, f"lost-{i}")

    assert len(registry) == 50
    evicted = [s for s in captured.spans if attrs(s).get(semconv.LLMTRACE_LANGCHAIN_UNFINISHED)]
    assert len(evicted) == 150
    assert evicted[0].name == "invoke_workflow lost-0"  # the oldest go first
    registry.clear()


def test_runs_older_than_max_age_are_evicted(captured, handler, small_registry):
    registry.max_age = 0.0
    manager = CallbackManager.configure([handler])
    _start_chain(manager, "stale")
    _start_chain(manager, "fresh")

    assert [s.name for s in captured.spans] == ["invoke_workflow stale"]
    assert len(registry) == 1
    registry.clear()


def test_a_late_end_after_release_is_ignored(captured, handler):
    manager = CallbackManager.configure([handler])
    root = manager.on_chain_start({"name": "root"}, {}, name="root")
    child = root.get_child().on_chain_start({"name": "child"}, {}, name="child")
    root.on_chain_end({})

    child.on_chain_end({})  # LangChain ends it after all: nothing left to do

    assert len(captured.by_name("child")) == 1


def _run_many(count: int, captured: SpanCapture, handler: LLMTraceCallbackHandler) -> None:
    """Chain runs (a lambda and a chat model), exported spans dropped as we go."""
    chain = RunnableLambda(lambda x: x, name="step") | FakeListChatModel(responses=["r"])
    config = {"callbacks": [handler]}
    for i in range(count):
        chain.invoke("q", config=config)
        if i % 200 == 0:
            captured.clear()
    captured.clear()


def _memory_growth(count: int, captured: SpanCapture) -> int:
    handler = LLMTraceCallbackHandler()
    open_before = _rollup.open_entries()
    _run_many(300, captured, handler)  # warm caches (pydantic, LangChain, our own)
    gc.collect()
    tracemalloc.start()
    try:
        _run_many(100, captured, handler)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        _run_many(count, captured, handler)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(registry) == 0
    assert _rollup.open_entries() == open_before
    return after - before


def test_memory_stays_flat_over_many_runs(captured):
    growth = _memory_growth(600, captured)

    # A leaked run (span, record, context) costs kilobytes: 600 of them would be megabytes.
    assert growth < 64 * 1024, f"grew {growth} bytes over 600 runs"


@pytest.mark.soak
def test_memory_stays_flat_soak(captured):
    scale = os.environ.get("LLMTRACE_SOAK_SCALE")
    if not scale:
        pytest.skip("soak variant: set LLMTRACE_SOAK_SCALE (1.0 = 100,000 runs)")
    count = max(1_000, int(100_000 * float(scale)))

    growth = _memory_growth(count, captured)

    assert growth < 512 * 1024, f"grew {growth} bytes over {count} runs"
