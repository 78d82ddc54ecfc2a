"""GenAI client metrics, read back from an in-memory metric reader."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import context as otel_context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import llmtrace
from llmtrace import Usage, _semconv_compat, semconv
from llmtrace._genai import metrics, pricing
from llmtrace._genai.lifecycle import LLM_SPAN_ATTRIBUTES_KEY, LLMInvocation
from llmtrace._genai.metrics import MetricCapture, capture_metrics
from llmtrace.testing import SpanCapture

TOKEN_BOUNDS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip
SECOND_BOUNDS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip


@pytest.fixture
def recorded(captured: SpanCapture) -> Iterator[MetricCapture]:
    with capture_metrics() as capture:
        yield capture


@pytest.fixture(autouse=True)
def _no_metrics_after() -> Iterator[None]:
    yield
    metrics.reset()
    pricing.clear_price_overrides()


def one_chat(**usage: int) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai", server_address="api.openai.com") as call:
        call.record_response(model="gpt-4o-2024-08-06")
        call.record_usage(**usage)


def test_token_histograms_per_operation(recorded: MetricCapture) -> None:
    one_chat(input_tokens=1200, output_tokens=80)
    metric = recorded.metric(semconv.METRIC_INFERENCE_INPUT_TOKENS)
    assert metric.unit == "{token}"
    [(attributes, point)] = recorded.points(metric.name)
    assert (point.count, point.sum) == (1, 1200)
    assert tuple(point.explicit_bounds) == TOKEN_BOUNDS
    assert attributes == {
        semconv.GEN_AI_OPERATION_NAME: "chat",
        semconv.GEN_AI_PROVIDER_NAME: "openai",
        semconv.GEN_AI_REQUEST_MODEL: "gpt-4o",
        semconv.GEN_AI_RESPONSE_MODEL: "gpt-4o-2024-08-06",
        semconv.SERVER_ADDRESS: "api.openai.com",
    }
    [(_, output)] = recorded.points(semconv.METRIC_INFERENCE_OUTPUT_TOKENS)
    assert (output.count, output.sum) == (1, 80)
    # The previous conventions' instruments only with OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai/dup.
    assert recorded.points(semconv.METRIC_TOKEN_USAGE) == []
    assert recorded.points(semconv.METRIC_OPERATION_DURATION) == []


def test_token_usage_counters_by_modality(recorded: MetricCapture) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.record_usage(
            Usage(
                input_tokens=100,
                output_tokens=40,
                cache_read_input_tokens=30,
                cache_creation_input_tokens=20,
                reasoning_output_tokens=10,
                input_audio_tokens=25,
                output_audio_tokens=0,
            )
        )

    def sums(name: str) -> dict[str, float]:
        return {a[semconv.GEN_AI_TOKEN_MODALITY]: p.value for a, p in recorded.points(name)}

    assert sums(semconv.METRIC_USAGE_INPUT_TOKENS) == {"audio": 25, "unknown": 75}
    assert sums(semconv.METRIC_USAGE_OUTPUT_TOKENS) == {"unknown": 40}
    assert sums(semconv.METRIC_USAGE_CACHE_READ_INPUT_TOKENS) == {"unknown": 30}
    assert sums(semconv.METRIC_USAGE_CACHE_WRITE_INPUT_TOKENS) == {"unknown": 20}
    assert sums(semconv.METRIC_USAGE_REASONING_OUTPUT_TOKENS) == {"unknown": 10}
    assert recorded.metric(semconv.METRIC_USAGE_INPUT_TOKENS).unit == "{token}"


def test_inference_duration_histogram(recorded: MetricCapture) -> None:
    one_chat(input_tokens=1, output_tokens=1)
    one_chat(input_tokens=1, output_tokens=1)
    metric = recorded.metric(semconv.METRIC_INFERENCE_DURATION)
    assert metric.unit == "s"
    [(attributes, point)] = recorded.points(metric.name)
    assert point.count == 2
    assert tuple(point.explicit_bounds) == SECOND_BOUNDS
    assert semconv.ERROR_TYPE not in attributes
    assert recorded.points(semconv.METRIC_EMBEDDINGS_DURATION) == []


def test_failed_call_records_error_type_and_zero_tokens(recorded: MetricCapture) -> None:
    with pytest.raises(TimeoutError), llmtrace.llm_call("gpt-4o", provider="openai"):
        raise TimeoutError("upstream timed out")
    [(attributes, _)] = recorded.points(semconv.METRIC_INFERENCE_DURATION)
    assert attributes[semconv.ERROR_TYPE] == "TimeoutError"
    # Conventions: failed operations count too, with 0 tokens (modality "unknown").
    [(attributes, point)] = recorded.points(semconv.METRIC_INFERENCE_INPUT_TOKENS)
    assert (point.count, point.sum, attributes[semconv.ERROR_TYPE]) == (1, 0, "TimeoutError")
    [(attributes, point)] = recorded.points(semconv.METRIC_USAGE_INPUT_TOKENS)
    assert (point.value, attributes[semconv.GEN_AI_TOKEN_MODALITY]) == (0, "unknown")


def test_time_to_first_chunk_only_for_streams(recorded: MetricCapture) -> None:
    one_chat(input_tokens=1, output_tokens=1)
    assert recorded.points(semconv.METRIC_INFERENCE_TIME_TO_FIRST_CHUNK) == []
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.mark_first_token()
        call.record_usage(input_tokens=1, output_tokens=1)
    recorded.collect()
    metric = recorded.metric(semconv.METRIC_INFERENCE_TIME_TO_FIRST_CHUNK)
    assert metric.unit == "s"
    [(_, point)] = recorded.points(metric.name)
    assert point.count == 1
    assert tuple(point.explicit_bounds) == SECOND_BOUNDS


def test_embeddings_have_their_own_instruments(recorded: MetricCapture) -> None:
    with llmtrace.llm_call("e3", provider="openai", operation="embeddings") as call:
        call.record_usage(input_tokens=12)
    [(_, point)] = recorded.points(semconv.METRIC_EMBEDDINGS_DURATION)
    assert point.count == 1
    [(_, point)] = recorded.points(semconv.METRIC_EMBEDDINGS_INPUT_TOKENS)
    assert point.sum == 12
    assert recorded.points(semconv.METRIC_INFERENCE_DURATION) == []
    assert recorded.points(semconv.METRIC_USAGE_INPUT_TOKENS) == []


def test_previous_instruments_with_the_opt_in_switch(
    captured: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http, gen_ai/dup")
    assert _semconv_compat.refresh() is True
    try:
        with capture_metrics() as recorded:
            with llmtrace.llm_call("gpt-4o", provider="openai") as call:
                call.mark_first_token()
                call.record_usage(input_tokens=7, output_tokens=3)
            previous = {
                a[semconv.GEN_AI_TOKEN_TYPE]: p.sum
                for a, p in recorded.points(semconv.METRIC_TOKEN_USAGE)
            }
            assert previous == {"input": 7, "output": 3}
            assert len(recorded.points(semconv.METRIC_OPERATION_DURATION)) == 1
            assert len(recorded.points(semconv.METRIC_TIME_TO_FIRST_CHUNK)) == 1
            assert len(recorded.points(semconv.METRIC_INFERENCE_DURATION)) == 1  # and the new
    finally:
        monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN")
        assert _semconv_compat.refresh() is False


def test_cost_counter_in_usd(recorded: MetricCapture) -> None:
    # gpt-4o: $2.50 / $10 per 1M input / output tokens
    one_chat(input_tokens=1_000_000, output_tokens=100_000)
    one_chat(input_tokens=1_000_000, output_tokens=0)
    metric = recorded.metric(semconv.METRIC_COST)
    assert metric.unit == "USD"
    [(attributes, point)] = recorded.points(metric.name)
    assert point.value == pytest.approx(2.5 + 1.0 + 2.5)
    assert attributes[semconv.GEN_AI_RESPONSE_MODEL] == "gpt-4o-2024-08-06"


def test_unknown_price_adds_no_cost(recorded: MetricCapture) -> None:
    with llmtrace.llm_call("local-llama", provider="ollama") as call:
        call.record_usage(input_tokens=10, output_tokens=10)
    assert recorded.points(semconv.METRIC_COST) == []
    assert len(recorded.points(semconv.METRIC_INFERENCE_INPUT_TOKENS)) == 1


def test_estimated_tokens_are_marked(recorded: MetricCapture) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai", operation="text_completion") as call:
        call.set_input_messages("tiktoken is great!")
    [(attributes, point)] = recorded.points(semconv.METRIC_INFERENCE_INPUT_TOKENS)
    assert attributes[semconv.LLMTRACE_USAGE_ESTIMATED] is True
    assert point.sum == 6


def test_only_low_cardinality_attributes(recorded: MetricCapture) -> None:
    handed_down = {
        semconv.GEN_AI_PROMPT_NAME: "support-answer",
        semconv.GEN_AI_PROMPT_VERSION: "v7",
        semconv.GEN_AI_PROMPT_VARIABLE_PREFIX + "question": "what is my balance?",
    }
    token = otel_context.attach(otel_context.set_value(LLM_SPAN_ATTRIBUTES_KEY, handed_down))
    try:
        with llmtrace.session("session-123", user_id="user-42", metadata={"ticket": "T-9"}):
            one_chat(input_tokens=5, output_tokens=5)
    finally:
        otel_context.detach(token)
    names = (
        semconv.METRIC_INFERENCE_INPUT_TOKENS,
        semconv.METRIC_INFERENCE_DURATION,
        semconv.METRIC_USAGE_INPUT_TOKENS,
        semconv.METRIC_COST,
    )
    for name in names:
        assert recorded.points(name)
        for attributes, _ in recorded.points(name):
            assert attributes[semconv.GEN_AI_PROMPT_NAME] == "support-answer"
            assert attributes[semconv.GEN_AI_PROMPT_VERSION] == "v7"
            assert set(attributes) <= {
                semconv.GEN_AI_OPERATION_NAME,
                semconv.GEN_AI_PROVIDER_NAME,
                semconv.GEN_AI_REQUEST_MODEL,
                semconv.GEN_AI_RESPONSE_MODEL,
                semconv.SERVER_ADDRESS,
                semconv.SERVER_PORT,
                semconv.ERROR_TYPE,
                semconv.GEN_AI_PROMPT_NAME,
                semconv.GEN_AI_PROMPT_VERSION,
                semconv.GEN_AI_TOKEN_MODALITY,
            }


def test_record_is_a_no_op_until_configured() -> None:
    metrics.reset()
    assert not metrics.is_configured()
    invocation = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o")
    metrics.record(invocation, 0.5)  # nothing to record into, no error


def test_metrics_without_any_span(recorded: MetricCapture) -> None:
    # the record comes from the invocation, not the span: it works for sampled-out calls too
    invocation = LLMInvocation(operation="embeddings", provider="openai", request_model="e3")
    metrics.record(invocation, 0.25)
    [(attributes, point)] = recorded.points(semconv.METRIC_EMBEDDINGS_DURATION)
    assert attributes[semconv.GEN_AI_OPERATION_NAME] == "embeddings"
    assert point.sum == pytest.approx(0.25)


def test_init_configures_metrics_from_the_given_meter_provider() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    llmtrace.init(exporter="none", instrument=False, meter_provider=provider)
    assert metrics.is_configured()
    one_chat(input_tokens=3, output_tokens=4)
    data = reader.get_metrics_data()
    assert data is not None
    names = {
        metric.name
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert {semconv.METRIC_INFERENCE_INPUT_TOKENS, semconv.METRIC_INFERENCE_DURATION} <= names
    provider.shutdown()


def test_configure_twice_with_the_same_provider_keeps_the_instruments() -> None:
    provider = MeterProvider(metric_readers=[InMemoryMetricReader()], shutdown_on_exit=False)
    metrics.configure(provider)
    first = metrics._instruments
    metrics.configure(provider)
    assert metrics._instruments is first
    provider.shutdown()
