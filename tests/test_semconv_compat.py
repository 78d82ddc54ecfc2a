"""Current GenAI convention names by default; the previous ones only behind the opt-in switch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import llmtrace
from llmtrace import _semconv_compat, semconv
from llmtrace.testing import SpanCapture


@pytest.fixture
def dup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(_semconv_compat.OPT_IN_VARIABLE, "gen_ai_latest_experimental,gen_ai/dup")
    assert _semconv_compat.refresh() is True
    yield
    monkeypatch.delenv(_semconv_compat.OPT_IN_VARIABLE)
    assert _semconv_compat.refresh() is False


def cached_call() -> None:
    with llmtrace.llm_call("claude-sonnet-4", provider="anthropic") as call:
        call.record_usage(input_tokens=100, output_tokens=5, cache_creation_input_tokens=60)


def test_cache_write_has_the_current_name(captured: SpanCapture) -> None:
    cached_call()
    attrs = captured.find("chat claude-sonnet-4").attributes
    assert attrs["gen_ai.usage.cache_write.input_tokens"] == 60
    assert semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS not in attrs


def test_previous_name_too_with_the_switch(captured: SpanCapture, dup: None) -> None:
    cached_call()
    attrs = captured.find("chat claude-sonnet-4").attributes
    assert attrs["gen_ai.usage.cache_write.input_tokens"] == 60
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 60


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", False), ("gen_ai_latest_experimental", False), ("http/dup", False),
     (" GEN_AI/DUP ", True), ("http,gen_ai/dup", True)],
)  # fmt: skip
def test_switch_values(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv(_semconv_compat.OPT_IN_VARIABLE, value)
    try:
        assert _semconv_compat.refresh() is expected
    finally:
        monkeypatch.delenv(_semconv_compat.OPT_IN_VARIABLE)
        _semconv_compat.refresh()
