"""The metrics added for dashboards: cached and reasoning tokens, the A/B variant label,
budget overruns, and exact counts when traces are sampled out (in-memory reader)."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmtrace
from llmtrace import semconv
from llmtrace._genai import metrics, pricing
from llmtrace._genai.metrics import MetricCapture, capture_metrics
from llmtrace.testing import SpanCapture


@pytest.fixture
def recorded(captured: SpanCapture) -> Iterator[MetricCapture]:
    with capture_metrics() as capture:
        yield capture


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    yield
    metrics.reset()
    pricing.clear_price_overrides()


def totals(capture: MetricCapture, name: str, key: str) -> dict[object, float]:
    found: dict[object, float] = {}
    for attributes, point in capture.points(name):
        value = point.sum if hasattr(point, "sum") else point.value
        found[attributes.get(key)] = found.get(attributes.get(key), 0) + value
    return found


def test_cached_and_reasoning_tokens_are_counted_apart(recorded: MetricCapture) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.record_usage(
            input_tokens=100,
            output_tokens=40,
            cached_input_tokens=60,
            cache_creation_input_tokens=5,
            reasoning_tokens=30,
        )
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.record_usage(input_tokens=10, output_tokens=4)  # no details reported
    details = {
        name: sum(point.value for _, point in recorded.points(name))
        for name in (
            semconv.METRIC_USAGE_CACHE_READ_INPUT_TOKENS,
            semconv.METRIC_USAGE_CACHE_WRITE_INPUT_TOKENS,
            semconv.METRIC_USAGE_REASONING_OUTPUT_TOKENS,
        )
    }
    assert list(details.values()) == [60, 5, 30]
    assert recorded.metric(semconv.METRIC_USAGE_CACHE_READ_INPUT_TOKENS).unit == "{token}"
    # The per-call histograms keep input and output only, so their sums add up.
    usage = [
        sum(point.sum for _, point in recorded.points(name))
        for name in (semconv.METRIC_INFERENCE_INPUT_TOKENS, semconv.METRIC_INFERENCE_OUTPUT_TOKENS)
    ]
    assert usage == [110, 44]


def test_zero_details_add_nothing(recorded: MetricCapture) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.record_usage(
            input_tokens=10, output_tokens=4, cached_input_tokens=0, reasoning_tokens=0
        )
    for name in (
        semconv.METRIC_USAGE_CACHE_READ_INPUT_TOKENS,
        semconv.METRIC_USAGE_CACHE_WRITE_INPUT_TOKENS,
        semconv.METRIC_USAGE_REASONING_OUTPUT_TOKENS,
    ):
        assert recorded.points(name) == []


def test_prompt_variant_is_a_label(recorded: MetricCapture) -> None:
    prompt = llmtrace.Prompt("qa", "Answer: {q}", version="3")

    def call() -> llmtrace.Prompt:
        chosen = llmtrace.choose_variant(
            "qa", [prompt.with_variant("short"), prompt.with_variant("long")], key="user-1"
        )
        with llmtrace.use_prompt(chosen, q="x"), llmtrace.llm_call("gpt-4o", provider="x") as c:
            c.record_usage(input_tokens=1, output_tokens=1)
        return chosen

    # choose_variant() outside a trace holds for the rest of the context: keep it in a copy.
    chosen = contextvars.copy_context().run(call)
    [(attributes, _)] = recorded.points(semconv.METRIC_INFERENCE_DURATION)
    assert attributes[semconv.GEN_AI_PROMPT_NAME] == "qa"
    assert attributes[semconv.GEN_AI_PROMPT_VERSION] == "3"
    assert attributes[semconv.LLMTRACE_PROMPT_VARIANT] == chosen.variant
    assert chosen.variant in ("short", "long")
    # The experiment's own llmtrace.variant.<name> key (one label name per experiment) and
    # the user key of the choice never become labels.
    assert not [key for key in attributes if key.startswith(semconv.LLMTRACE_VARIANT_PREFIX)]
    assert "user-1" not in attributes.values()


def test_budget_overrun_and_refused_calls(recorded: MetricCapture) -> None:
    pricing.load_price_overrides({"models": {"acme": {"input": 1e6, "output": 0}}})
    with llmtrace.budget(max_usd=1.5, on_exceed="raise", name="nightly"):
        for _ in range(2):  # $1 each: the second goes over
            with llmtrace.llm_call("acme", provider="openai") as call:
                call.record_usage(input_tokens=1, output_tokens=0)
        for _ in range(3):
            with pytest.raises(llmtrace.BudgetExceeded):
                llmtrace.llm_call("acme", provider="openai").__enter__()
    with llmtrace.budget(max_usd=0.5):  # unnamed, warns
        with llmtrace.llm_call("acme", provider="openai") as call:
            call.record_usage(input_tokens=1, output_tokens=0)
    exceeded = totals(recorded, semconv.METRIC_BUDGET_EXCEEDED, semconv.LLMTRACE_BUDGET_NAME)
    assert exceeded == {"nightly": 1, None: 1}
    rejected = totals(recorded, semconv.METRIC_BUDGET_REJECTED_CALLS, semconv.LLMTRACE_BUDGET_NAME)
    assert rejected == {"nightly": 3}


def test_sampled_out_calls_count_exactly_with_their_prompt() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    spans = InMemorySpanExporter()
    llmtrace.init(exporter=spans, instrument=False, sample_rate=0.0, meter_provider=provider)
    prompt = llmtrace.Prompt("support", "Hi {name}", version="v9").with_variant("b")
    with llmtrace.use_prompt(prompt, name="x"):
        for _ in range(5):
            with llmtrace.llm_call("gpt-4o", provider="openai") as call:
                call.record_usage(input_tokens=7, output_tokens=3)
    llmtrace.force_flush()
    assert spans.get_finished_spans() == ()  # every trace was sampled out
    capture = MetricCapture(reader)
    [(attributes, point)] = capture.points(semconv.METRIC_INFERENCE_DURATION)
    assert point.count == 5
    assert attributes[semconv.GEN_AI_PROMPT_VERSION] == "v9"
    assert attributes[semconv.LLMTRACE_PROMPT_VARIANT] == "b"
    usage = [
        sum(point.sum for _, point in capture.points(name))
        for name in (semconv.METRIC_INFERENCE_INPUT_TOKENS, semconv.METRIC_INFERENCE_OUTPUT_TOKENS)
    ]
    assert usage == [35, 15]
    [(_, cost)] = capture.points(semconv.METRIC_COST)
    assert cost.value > 0
    provider.shutdown()
