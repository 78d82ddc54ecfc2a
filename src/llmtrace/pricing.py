"""Cost of an LLM call in USD (interface stub; see issue 4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .tokens import Usage


@dataclass(frozen=True, slots=True)
class Cost:
    input: float
    output: float
    currency: str = "USD"
    source: str = "genai-prices"

    @property
    def total(self) -> float:
        return self.input + self.output


def cost_for(provider: str | None, model: str | None, usage: Usage) -> Cost | None:
    """Price ``usage`` for the model that answered; None when the model's price is unknown."""
    return None


def load_price_overrides(prices: Any) -> None:
    """Add or override prices (a dict, or a path to a TOML/JSON file)."""
    return None
