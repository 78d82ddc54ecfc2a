"""Cost budgets (interface stub; see issue 4)."""

from __future__ import annotations


def before_call() -> None:
    """Raise BudgetExceeded before an LLM call when a raising budget in effect is spent."""
    return None


def charge(cost_usd: float) -> None:
    """Add a finished call's cost to every budget in effect."""
    return None
