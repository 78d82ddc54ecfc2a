"""Cost and token roll-ups onto parent spans, across nesting, threads and asyncio."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan

import llmtrace
from llmtrace import _rollup, semconv
from llmtrace._genai import pricing
from llmtrace.testing import SpanCapture

# $1 per input token, $2 per output token: totals are exact in binary floating point.
MODEL = "rollup-test-model"


@pytest.fixture(autouse=True)
def _dollar_model() -> Iterator[None]:
    pricing.load_price_overrides({MODEL: {"input": 1_000_000, "output": 2_000_000}})
    yield
    pricing.clear_price_overrides()


def call_llm(input_tokens: int, output_tokens: int, model: str = MODEL) -> None:
    with llmtrace.llm_call(model, provider="openai") as call:
        call.record_usage(input_tokens=input_tokens, output_tokens=output_tokens)


async def acall_llm(input_tokens: int, output_tokens: int) -> None:
    async with llmtrace.llm_call(MODEL, provider="openai") as call:
        await asyncio.sleep(0)
        call.record_usage(input_tokens=input_tokens, output_tokens=output_tokens)


def totals(span: ReadableSpan) -> tuple[object, ...]:
    attributes = span.attributes or {}
    return (
        attributes.get(semconv.LLMTRACE_LLM_CALL_COUNT),
        attributes.get(semconv.LLMTRACE_USAGE_TOTAL_INPUT_TOKENS),
        attributes.get(semconv.LLMTRACE_USAGE_TOTAL_OUTPUT_TOKENS),
        attributes.get(semconv.LLMTRACE_COST_TOTAL),
    )


def test_workflow_task_two_calls(captured: SpanCapture) -> None:
    with llmtrace.span("answer", kind="workflow"), llmtrace.span("draft", kind="task"):
        call_llm(100, 20)  # $140
        call_llm(50, 5)  # $60
    assert totals(captured.find("draft")) == (2, 150, 25, 200.0)
    assert totals(captured.find("invoke_workflow answer")) == (2, 150, 25, 200.0)
    # LLM spans carry their own cost, not a roll-up
    for span in captured.by_name(f"chat {MODEL}"):
        assert semconv.LLMTRACE_LLM_CALL_COUNT not in (span.attributes or {})
    assert _rollup.open_entries() == 0


def test_calls_at_several_levels_add_up(captured: SpanCapture) -> None:
    @llmtrace.trace(name="pipeline", kind="workflow")
    def pipeline() -> None:
        call_llm(1, 1)  # $3, directly under the workflow
        with llmtrace.span("retrieve", kind="retriever"):
            call_llm(10, 0)  # $10
        with llmtrace.span("write", kind="task"):
            call_llm(0, 100)  # $200
            with llmtrace.span("polish", kind="task"):
                call_llm(2, 2)  # $6

    pipeline()
    assert totals(captured.find("polish")) == (1, 2, 2, 6.0)
    assert totals(captured.find("write")) == (2, 2, 102, 206.0)
    assert totals(captured.find("retrieve")) == (1, 10, 0, 10.0)
    assert totals(captured.find("invoke_workflow pipeline")) == (4, 13, 103, 219.0)


def test_spans_without_llm_calls_get_no_totals(captured: SpanCapture) -> None:
    with llmtrace.span("root", kind="workflow"):
        with llmtrace.span("no-llm"):
            pass
        call_llm(1, 0)
    assert totals(captured.find("no-llm")) == (None, None, None, None)
    assert totals(captured.find("invoke_workflow root")) == (1, 1, 0, 1.0)


def test_sibling_workflows_do_not_mix(captured: SpanCapture) -> None:
    with llmtrace.span("first", kind="workflow"):
        call_llm(1, 0)
    with llmtrace.span("second", kind="workflow"):
        call_llm(2, 0)
    assert totals(captured.find("invoke_workflow first")) == (1, 1, 0, 1.0)
    assert totals(captured.find("invoke_workflow second")) == (1, 2, 0, 2.0)


def test_threads_roll_up_exactly(captured: SpanCapture) -> None:
    with llmtrace.span("fan-out", kind="workflow"), llmtrace.ContextThreadPoolExecutor(4) as pool:
        futures = [pool.submit(call_llm, 3, 1) for _ in range(60)]
        for future in futures:
            future.result()
    assert totals(captured.find("invoke_workflow fan-out")) == (60, 180, 60, 300.0)
    assert _rollup.open_entries() == 0


def test_threads_each_with_their_own_task(captured: SpanCapture) -> None:
    def worker(n: int) -> None:
        with llmtrace.span(f"task-{n}"):
            for _ in range(5):
                call_llm(n, 0)

    with llmtrace.span("parallel", kind="workflow"), llmtrace.ContextThreadPoolExecutor(4) as pool:
        for future in [pool.submit(worker, n) for n in range(1, 9)]:
            future.result()
    for n in range(1, 9):
        assert totals(captured.find(f"task-{n}")) == (5, 5 * n, 0, float(5 * n))
    assert totals(captured.find("invoke_workflow parallel")) == (40, 180, 0, 180.0)


async def test_asyncio_gather_rolls_up_exactly(captured: SpanCapture) -> None:
    async with llmtrace.span("async-fan-out", kind="workflow"):
        await asyncio.gather(*(acall_llm(i, 1) for i in range(1, 21)))
    # inputs 1..20 -> 210 tokens, outputs 20 tokens; $210 + $40
    assert totals(captured.find("invoke_workflow async-fan-out")) == (20, 210, 20, 250.0)


async def test_nested_async_tasks(captured: SpanCapture) -> None:
    async def branch(name: str, count: int) -> None:
        async with llmtrace.span(name):
            await asyncio.gather(*(acall_llm(1, 1) for _ in range(count)))

    async with llmtrace.span("tree", kind="workflow"):
        await asyncio.gather(branch("left", 3), branch("right", 4))
    assert totals(captured.find("left")) == (3, 3, 3, 9.0)
    assert totals(captured.find("right")) == (4, 4, 4, 12.0)
    assert totals(captured.find("invoke_workflow tree")) == (7, 7, 7, 21.0)


def test_unpriced_calls_count_tokens_but_leave_cost_a_lower_bound(captured: SpanCapture) -> None:
    with llmtrace.span("mixed", kind="workflow"):
        call_llm(1, 1)  # $3
        call_llm(10, 10, model="some-local-model")  # no price
    assert totals(captured.find("invoke_workflow mixed")) == (2, 11, 11, 3.0)
    with llmtrace.span("unpriced", kind="workflow"):
        call_llm(10, 10, model="some-local-model")
    assert totals(captured.find("invoke_workflow unpriced")) == (1, 10, 10, None)


def test_failed_llm_call_still_counts(captured: SpanCapture) -> None:
    with llmtrace.span("with-error", kind="workflow"):
        with pytest.raises(RuntimeError), llmtrace.llm_call(MODEL, provider="openai") as call:
            call.record_usage(input_tokens=4, output_tokens=0)
            raise RuntimeError("stream broke")
        call_llm(1, 0)
    assert totals(captured.find("invoke_workflow with-error")) == (2, 5, 0, 5.0)


def test_table_is_bounded() -> None:
    before = _rollup.open_entries()
    saved = _rollup._MAX_OPEN
    _rollup._MAX_OPEN = 50
    try:
        for parent in range(1, 1_000):  # parents that never end (another library's spans)
            _rollup.add_llm_call(10_000_000 + parent, 1, 1, 0.5)
        assert _rollup.open_entries() <= 50
    finally:
        _rollup._MAX_OPEN = saved
        _rollup._open.clear()
    assert before == 0


def test_recently_active_parents_survive_eviction() -> None:
    saved = _rollup._MAX_OPEN
    _rollup._MAX_OPEN = 10
    try:
        long_running = 42
        _rollup.add_llm_call(long_running, 1, 0, 1.0)
        for parent in range(100, 200):  # many short-lived strangers...
            _rollup.add_llm_call(parent, 1, 0, 1.0)
            _rollup.add_llm_call(long_running, 1, 0, 1.0)  # ...while it keeps calling
        assert _rollup._open[long_running].calls == 101
    finally:
        _rollup._MAX_OPEN = saved
        _rollup._open.clear()
