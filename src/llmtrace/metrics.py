"""GenAI client metrics (interface stub; see issue 4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._invocation import LLMInvocation


def configure(meter_provider: Any) -> None:
    """Create the instruments once, from the MeterProvider init() chose."""
    return None


def record(invocation: LLMInvocation, duration_s: float) -> None:
    """Record one finished LLM call (no-op until configure() ran)."""
    return None
