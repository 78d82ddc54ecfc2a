"""A provider's request values -> the record's field types, or None (never a guess).

    inv.temperature = as_number(kwargs.get("temperature"))     # 1 -> 1.0; True, "0.5" -> None
    inv.max_tokens = as_whole_number(kwargs.get("max_tokens"))  # 256; 256.0, True -> None
    inv.stop_sequences = as_strings(kwargs.get("stop_sequences"))  # ["END"]; [], [1] -> None

Every integration reads its sampling parameters through these, so a value of an
unexpected type is skipped the same way whichever SDK sent it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["as_number", "as_strings", "as_whole_number"]


def as_number(value: Any) -> float | None:
    """An int or float as a float (booleans are not numbers here)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def as_whole_number(value: Any) -> int | None:
    """An int (not a bool, not a float)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_strings(value: Any) -> list[str] | None:
    """A non-empty list or tuple of strings, as a new list."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(s, str) for s in value):
        return list(value)
    return None
