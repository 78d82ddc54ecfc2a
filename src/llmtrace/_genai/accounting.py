"""What every LLM call is counted in besides its span: budgets, prices, roll-ups, metrics.

The lifecycle calls these through ``HOOKS`` (installed by ``llmtrace._genai``), so
neither side imports the other's layer: pricing, budgets, roll-ups and metrics know
the invocation record, the lifecycle knows only the hooks.
"""

from __future__ import annotations

from .. import _rollup as rollup
from .._errors import internal_errors
from . import budgets, metrics, pricing
from .lifecycle import Hooks
from .pricing import Cost
from .record import InvocationRecord


def before_call() -> None:
    if budgets.open_blocks:  # no call into budgets while no budget() block is open
        budgets.before_call()


def price(record: InvocationRecord, /) -> Cost | None:
    usage = record.usage
    if usage is None:
        return None
    return pricing.cost_for(
        record.provider,
        record.priced_model,
        usage,
        record.response_service_tier or record.request_service_tier,
    )


def account(record: InvocationRecord, parent_span_id: int | None, duration: float, /) -> None:
    """Roll-up into the parent span, charge open budgets, record the metrics."""
    usage = record.usage
    cost = record.cost.total if record.cost is not None else None
    if parent_span_id:  # only a recording parent collects roll-ups
        with internal_errors:
            rollup.add_llm_call(
                parent_span_id,
                usage.input_tokens if usage else None,
                usage.output_tokens if usage else None,
                cost,
            )
    if budgets.open_blocks:
        with internal_errors:
            if cost is not None:
                budgets.charge(cost)
            elif usage is not None:
                budgets.warn_unpriced(
                    record.provider, record.response_model or record.request_model
                )
    metrics.record(record, duration)  # last: the lifecycle's guard around account() covers it


HOOKS = Hooks(before_call=before_call, price=price, account=account)
