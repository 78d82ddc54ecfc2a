"""choose_variant(): deterministic, balanced A/B assignment, recorded on the spans."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

import llmtrace
from llmtrace._genai.lifecycle import LLMInvocation
from llmtrace._prompts import state as _prompt_state
from llmtrace._prompts.prompt import Prompt
from llmtrace.testing import SpanCapture

KEYS = [f"user-{i}" for i in range(20_000)]


def call_llm(model: str = "gpt-4o-mini") -> None:
    invocation = LLMInvocation(operation="chat", provider="openai", request_model=model)
    invocation.start()
    invocation.stop()


@pytest.fixture(autouse=True)
def _fresh_prompt_state() -> Iterator[None]:
    token = _prompt_state._STATE.set(None)
    yield
    _prompt_state._STATE.reset(token)


def chi_square(observed: Counter[str], expected: dict[str, float]) -> float:
    total = sum(observed.values())
    return sum((observed[k] - total * p) ** 2 / (total * p) for k, p in expected.items())


# -- deterministic ----------------------------------------------------------------------
def test_the_same_key_always_gets_the_same_variant() -> None:
    first = [llmtrace.choose_variant("tone", ["warm", "terse"], key=k) for k in KEYS[:500]]
    again = [llmtrace.choose_variant("tone", ["warm", "terse"], key=k) for k in KEYS[:500]]
    assert first == again


def test_assignments_are_stable_across_processes_and_releases() -> None:
    # sha256 of "<experiment>\x1f<key>", not hash(): literal expectations hold everywhere.
    picks = [llmtrace.choose_variant("tone", ["warm", "terse"], key=k) for k in KEYS[:8]]
    assert picks == ["warm", "terse", "warm", "warm", "terse", "terse", "warm", "warm"]


def test_keys_of_any_type_hash_by_their_string_form() -> None:
    assert llmtrace.choose_variant("tone", ["a", "b", "c"], key=42) == llmtrace.choose_variant(
        "tone", ["a", "b", "c"], key="42"
    )


def test_experiments_are_independent() -> None:
    one = [llmtrace.choose_variant("exp-1", ["a", "b"], key=k) for k in KEYS[:4000]]
    two = [llmtrace.choose_variant("exp-2", ["a", "b"], key=k) for k in KEYS[:4000]]
    agreement = sum(x == y for x, y in zip(one, two, strict=True)) / len(one)
    assert 0.45 < agreement < 0.55


# -- balanced ---------------------------------------------------------------------------
def test_equal_weights_split_evenly() -> None:
    counts = Counter(llmtrace.choose_variant("even", ["a", "b", "c"], key=k) for k in KEYS)
    # 2 degrees of freedom: 13.8 is the 0.1 % critical value.
    assert chi_square(counts, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}) < 13.8


def test_split_weights_are_matched() -> None:
    counts = Counter(
        llmtrace.choose_variant("split", ["a", "b", "c"], key=k, split=[50, 30, 20]) for k in KEYS
    )
    assert chi_square(counts, {"a": 0.5, "b": 0.3, "c": 0.2}) < 13.8
    assert abs(counts["c"] / len(KEYS) - 0.2) < 0.01


def test_mapping_weights_are_matched_and_zero_means_never() -> None:
    variants = {"control": 0.9, "treatment": 0.1, "off": 0}
    counts = Counter(llmtrace.choose_variant("map", variants, key=k) for k in KEYS)
    assert counts["off"] == 0
    assert chi_square(counts, {"control": 0.9, "treatment": 0.1}) < 10.8  # 1 dof, 0.1 %


@pytest.mark.parametrize(
    ("variants", "split", "error"),
    [
        ([], None, ValueError),
        (["a", "b"], [1], ValueError),
        (["a", "b"], [1, -1], ValueError),
        (["a", "b"], [0, 0], ValueError),
        (["a", "b"], [1, float("nan")], ValueError),
        ({"a": 1}, [1], ValueError),
        ("ab", None, TypeError),
    ],
)
def test_bad_variants_or_weights_are_rejected(
    variants: object, split: list[float] | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        llmtrace.choose_variant("bad", variants, key="u", split=split)  # type: ignore[arg-type]


def test_a_missing_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="key is None"):
        llmtrace.choose_variant("exp", ["a", "b"], key=None)


# -- recorded ---------------------------------------------------------------------------
def test_the_choice_is_recorded_on_the_current_span_and_the_llm_calls(
    captured: SpanCapture,
) -> None:
    with llmtrace.span("request"):
        chosen = llmtrace.choose_variant("tone", ["warm", "terse"], key="user-1")
        call_llm()
    assert captured.find("request").attributes["llmtrace.variant.tone"] == chosen
    assert captured.find("chat gpt-4o-mini").attributes["llmtrace.variant.tone"] == chosen


def test_the_choice_does_not_follow_into_the_next_trace(captured: SpanCapture) -> None:
    with llmtrace.span("request 1"):
        llmtrace.choose_variant("tone", ["warm", "terse"], key="user-1")
    with llmtrace.span("request 2"):
        call_llm()
    assert "llmtrace.variant.tone" not in captured.find("chat gpt-4o-mini").attributes


def test_prompt_variants_come_back_labelled(captured: SpanCapture) -> None:
    long = Prompt("greet", "Hello {name}, how are you today?", variant="long")
    short = Prompt("greet", "Hi {name}")
    with llmtrace.span("request"):
        prompt = llmtrace.choose_variant("greet", [long, short], key="user-0")
        prompt.format(name="Ada")
        call_llm()
    assert prompt in (long, short.with_variant(short.version))
    label = prompt.variant
    attributes = captured.find("chat gpt-4o-mini").attributes
    assert attributes["llmtrace.variant.greet"] == label
    assert attributes["llmtrace.prompt.variant"] == label
    assert attributes["gen_ai.prompt.version"] == prompt.version


def test_a_label_chosen_under_a_prompts_name_becomes_its_variant(captured: SpanCapture) -> None:
    greet = Prompt("greet", "Hello {name}")
    with llmtrace.span("request"):
        label = llmtrace.choose_variant("greet", ["a", "b"], key="user-3")
        llmtrace.choose_variant("model", ["small", "large"], key="user-3")
        greet.format(name="Ada")
        call_llm()
    attributes = captured.find("chat gpt-4o-mini").attributes
    assert attributes["llmtrace.prompt.variant"] == label
    assert "llmtrace.variant.model" in attributes


def test_choosing_without_a_span_or_tracing_works() -> None:
    assert llmtrace.choose_variant("tone", ["warm", "terse"], key="user-1") in ("warm", "terse")
