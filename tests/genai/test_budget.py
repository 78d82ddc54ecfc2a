"""Cost budgets: warn, raise before the next call, or call the user's function."""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest

import llmtrace
from llmtrace._errors import ConfigurationError, LLMTraceError
from llmtrace._genai import pricing
from llmtrace._genai.budgets import BudgetExceeded, budget
from llmtrace.testing import SpanCapture

budget_module = importlib.import_module("llmtrace._genai.budgets")

# A model priced at exactly $1 per input token and $2 per output token, so sums are exact.
MODEL = "budget-test-model"


@pytest.fixture(autouse=True)
def _dollar_model(captured: SpanCapture) -> Iterator[None]:
    pricing.load_price_overrides({MODEL: {"input": 1_000_000, "output": 2_000_000}})
    yield
    pricing.clear_price_overrides()


def call_llm(input_tokens: int = 1, output_tokens: int = 0) -> None:
    with llmtrace.llm_call(MODEL, provider="openai") as call:
        call.record_usage(input_tokens=input_tokens, output_tokens=output_tokens)


async def acall_llm(input_tokens: int = 1) -> None:
    async with llmtrace.llm_call(MODEL, provider="openai") as call:
        await asyncio.sleep(0)
        call.record_usage(input_tokens=input_tokens, output_tokens=0)


def test_spent_and_exceeded(caplog: pytest.LogCaptureFixture) -> None:
    with budget(max_usd=5, name="nightly") as b:
        call_llm(2, 1)  # $4
        assert (b.spent_usd, b.exceeded, b.remaining_usd) == (4.0, False, 1.0)
        call_llm(1)  # $5: reached, not passed
        assert not b.exceeded
        call_llm(1)  # $6
    assert (b.spent_usd, b.exceeded, b.remaining_usd) == (6.0, True, 0.0)


def test_warn_logs_once_and_calls_go_on(
    caplog: pytest.LogCaptureFixture, captured: SpanCapture
) -> None:
    caplog.set_level(logging.WARNING, logger="llmtrace")
    with budget(max_usd=1, on_exceed="warn", name="demo") as b:
        for _ in range(4):
            call_llm(1)
    warnings = [r for r in caplog.records if "exceeded" in r.getMessage()]
    assert len(warnings) == 1
    assert "'demo'" in warnings[0].getMessage()
    assert b.spent_usd == 4.0
    assert len(captured.by_name(f"chat {MODEL}")) == 4


def test_raise_stops_the_next_call_before_it_is_sent(captured: SpanCapture) -> None:
    sent: list[int] = []
    limit = budget(max_usd=2, on_exceed="raise", name="per-request")
    with pytest.raises(BudgetExceeded) as raised, limit:
        for i in range(5):
            with llmtrace.llm_call(MODEL, provider="openai") as call:
                sent.append(i)  # the user's request would go out here
                call.record_usage(input_tokens=2, output_tokens=0)
    # call 0 ($2) reaches the limit, call 1 ($4) passes it mid-flight and completes,
    # call 2 is refused before its body runs
    assert sent == [0, 1]
    assert len(captured.by_name(f"chat {MODEL}")) == 2
    error = raised.value
    assert isinstance(error, LLMTraceError)
    assert (error.name, error.spent_usd, error.max_usd) == ("per-request", 4.0, 2.0)
    message = str(error)
    assert "'per-request'" in message and "$4.000000" in message and "$2.000000" in message


def test_raise_only_inside_the_block() -> None:
    with budget(max_usd=0, on_exceed="raise"):
        call_llm(1)
    call_llm(1)  # outside the spent budget: allowed


def test_callable_handler_called_once_with_the_budget() -> None:
    seen: list[budget] = []
    with budget(max_usd=1.5, on_exceed=seen.append) as b:
        for _ in range(5):
            call_llm(1)
    assert seen == [b]


def test_a_raising_handler_does_not_break_the_call(caplog: pytest.LogCaptureFixture) -> None:
    def handler(spent: budget) -> None:
        raise RuntimeError("handler bug")

    with budget(max_usd=0, on_exceed=handler) as b:
        call_llm(1)
        call_llm(1)
    assert b.spent_usd == 2.0
    assert "on_exceed handler" in caplog.text


def test_nested_budgets_each_count() -> None:
    with budget(max_usd=100) as outer:
        call_llm(1)
        with budget(max_usd=100) as inner:
            call_llm(10)
        call_llm(1)
    assert (outer.spent_usd, inner.spent_usd) == (12.0, 10.0)


def test_inner_raising_budget_does_not_outlive_its_block() -> None:
    with budget(max_usd=100, on_exceed="raise") as outer:
        with budget(max_usd=0, on_exceed="raise"), pytest.raises(BudgetExceeded):
            call_llm(1)
            call_llm(1)
        call_llm(1)
    assert outer.spent_usd == 2.0


def test_threads_with_copied_context_count_exactly() -> None:
    with budget(max_usd=10_000) as b, llmtrace.ContextThreadPoolExecutor(4) as pool:
        futures = [pool.submit(call_llm, 3) for _ in range(40)]
        for future in futures:
            future.result()
    assert b.spent_usd == 120.0


def test_threads_without_the_context_do_not_count() -> None:
    import threading

    with budget(max_usd=10) as b:
        thread = threading.Thread(target=call_llm, args=(5,))  # a plain thread: fresh context
        thread.start()
        thread.join()
        ctx = contextvars.copy_context()
        thread = threading.Thread(target=ctx.run, args=(call_llm, 7))
        thread.start()
        thread.join()
    assert b.spent_usd == 7.0


async def test_asyncio_gather_counts_every_task() -> None:
    async with budget(max_usd=1_000) as b:
        await asyncio.gather(*(acall_llm(2) for _ in range(25)))
    assert b.spent_usd == 50.0


async def test_asyncio_raise_before_the_next_call() -> None:
    async with budget(max_usd=1, on_exceed="raise"):
        await acall_llm(2)
        with pytest.raises(BudgetExceeded):
            await acall_llm(1)


def test_unpriced_calls_are_not_counted() -> None:
    with (
        budget(max_usd=1) as b,
        llmtrace.llm_call("some-local-model", provider="ollama") as call,
    ):
        call.record_usage(input_tokens=1_000, output_tokens=1_000)
    assert b.spent_usd == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_usd": -1}, "max_usd"),
        ({"max_usd": float("inf")}, "max_usd"),
        ({"max_usd": "5"}, "max_usd"),
        ({"max_usd": True}, "max_usd"),
        ({"max_usd": 1, "on_exceed": "explode"}, "on_exceed"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        budget(**kwargs)  # type: ignore[arg-type]


def test_charge_ignores_nonsense_and_needs_no_budget() -> None:
    budget_module.charge(1.0)  # no budget in effect: nothing happens
    budget_module.before_call()
    with budget(max_usd=1) as b:
        budget_module.charge(float("nan"))
        budget_module.charge(-3.0)
        budget_module.charge(0.25)
    assert b.spent_usd == 0.25


def test_internal_error_in_accounting_is_swallowed(
    lenient: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object, cost: float) -> None:
        raise RuntimeError("accounting bug")

    monkeypatch.setattr(budget, "_add", broken)
    with budget(max_usd=1) as b:
        call_llm(1)  # the call itself is unaffected
    assert b.spent_usd == 0.0


def test_public_name_is_the_context_manager_whatever_the_import_order() -> None:
    # Internal modules import llmtrace.budget (the module) before users touch llmtrace.budget.
    code = (
        "import llmtrace, llmtrace._genai.lifecycle\n"
        "b = llmtrace.budget(max_usd=1)\n"
        "assert b.max_usd == 1.0\n"
        "assert issubclass(llmtrace.BudgetExceeded, llmtrace.LLMTraceError)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_open_block_count_follows_enter_and_exit_even_across_contexts() -> None:
    from llmtrace._genai import budgets

    before = budgets.open_blocks
    outer = llmtrace.budget(max_usd=1.0)
    with outer:
        with llmtrace.budget(max_usd=2.0):
            assert budgets.open_blocks == before + 2
        assert budgets.open_blocks == before + 1
    assert budgets.open_blocks == before

    async def enter_here_exit_elsewhere() -> None:
        block = llmtrace.budget(max_usd=1.0)
        block.__enter__()
        await asyncio.create_task(_exit_in_another_task(block))

    asyncio.run(enter_here_exit_elsewhere())
    assert budgets.open_blocks == before


async def _exit_in_another_task(block: llmtrace.budget) -> None:
    block.__exit__(None, None, None)
