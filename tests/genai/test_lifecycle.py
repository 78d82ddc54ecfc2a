"""The LLM span's lifecycle: start honours suppression unless its caller just checked it,
and the hooks that run after the call cost only their own step when they fail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation

from llmtrace._genai import accounting, lifecycle
from llmtrace._genai.lifecycle import Hooks, LLMInvocation
from llmtrace._genai.tokens import Usage
from llmtrace.testing import SpanCapture


def test_start_opens_no_span_while_instrumentation_is_suppressed(captured: SpanCapture) -> None:
    with suppress_instrumentation():
        inv = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o")
        assert inv.start() is False
        inv.stop()
    assert captured.spans == []


def test_a_caller_that_checked_suppression_itself_is_not_asked_again(
    captured: SpanCapture,
) -> None:
    """``check_suppression=False`` is for wrappers that checked a moment before (the shells)."""
    with suppress_instrumentation():
        inv = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o")
        assert inv.start(check_suppression=False)
        inv.stop()
    assert [span.name for span in captured.spans] == ["chat gpt-4o"]


def _broken(*_: object) -> None:
    raise RuntimeError("a bug in a hook")


@pytest.fixture
def broken_hooks(lenient: None) -> Iterator[None]:
    previous = lifecycle.use_hooks(
        Hooks(before_call=accounting.before_call, price=_broken, account=_broken)
    )
    yield
    lifecycle.use_hooks(previous)


def test_failing_price_and_account_hooks_cost_only_their_own_step(
    captured: SpanCapture, broken_hooks: None
) -> None:
    inv = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o")
    assert inv.start()
    inv.response_model, inv.usage = "gpt-4o-2024-08-06", Usage(12, 3)
    inv.stop()
    (span,) = captured.spans
    assert span.end_time is not None
    assert span.attributes is not None
    assert span.attributes["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert span.attributes["gen_ai.usage.input_tokens"] == 12
    assert "gen_ai.usage.cost.amount" not in span.attributes


def test_hooks_must_take_positional_only_parameters() -> None:
    def price(record: object) -> None:
        return None

    with pytest.raises(TypeError, match="positional-only"):
        lifecycle.use_hooks(Hooks(before_call=accounting.before_call, price=price, account=_broken))
    assert lifecycle.use_hooks(accounting.HOOKS) is accounting.HOOKS  # refused: nothing changed
