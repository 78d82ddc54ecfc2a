"""Token usage: one normalised record from every source.

``Usage`` follows the GenAI conventions: ``input_tokens`` include cached ones,
``output_tokens`` include reasoning ones.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Usage:
    """Token counts of one LLM call. ``None`` means "not reported", never zero."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    reasoning_output_tokens: int | None = None
    input_audio_tokens: int | None = None
    output_audio_tokens: int | None = None
    estimated: bool = False
