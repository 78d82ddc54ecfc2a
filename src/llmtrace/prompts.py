"""Prompts and their versions (interface stub; see issue 5)."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.util.types import AttributeValue


def prompt_attributes() -> Mapping[str, AttributeValue] | None:
    """Attributes of the prompt in effect in the current context, for LLM spans."""
    return None
