"""GenAI client metrics, read back from an in-memory metric reader."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import context as otel_context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import llmtrace
from llmtrace import semconv
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


def test_token_usage_histogram(recorded: MetricCapture) -> None:
    one_chat(input_tokens=1200, output_tokens=80)
    metric = recorded.metric(semconv.METRIC_TOKEN_USAGE)
    assert metric.unit == "{token}"
    points = {
        attrs[semconv.GEN_AI_TOKEN_TYPE]: (attrs, p) for attrs, p in recorded.points(metric.name)
    }
    assert set(points) == {"input", "output"}
    attributes, point = points["input"]
    assert (point.count, point.sum) == (1, 1200)
    assert tuple(point.explicit_bounds) == TOKEN_BOUNDS
    assert attributes == {
        semconv.GEN_AI_OPERATION_NAME: "chat",
        semconv.GEN_AI_PROVIDER_NAME: "openai",
        semconv.GEN_AI_REQUEST_MODEL: "gpt-4o",
        semconv.GEN_AI_RESPONSE_MODEL: "gpt-4o-2024-08-06",
        semconv.SERVER_ADDRESS: "api.openai.com",
        semconv.GEN_AI_TOKEN_TYPE: "input",
    }
    assert points["output"][1].sum == 80


def test_operation_duration_histogram(recorded: MetricCapture) -> None:
    one_chat(input_tokens=1, output_tokens=1)
    one_chat(input_tokens=1, output_tokens=1)
    metric = recorded.metric(semconv.METRIC_OPERATION_DURATION)
    assert metric.unit == "s"
    [(attributes, point)] = recorded.points(metric.name)
    assert point.count == 2
    assert tuple(point.explicit_bounds) == SECOND_BOUNDS
    assert semconv.ERROR_TYPE not in attributes


def test_failed_call_records_error_type_on_duration(recorded: MetricCapture) -> None:
    with pytest.raises(TimeoutError), llmtrace.llm_call("gpt-4o", provider="openai"):
        raise TimeoutError("upstream timed out")
    [(attributes, _)] = recorded.points(semconv.METRIC_OPERATION_DURATION)
    assert attributes[semconv.ERROR_TYPE] == "TimeoutError"
    assert recorded.points(semconv.METRIC_TOKEN_USAGE) == []


def test_time_to_first_chunk_only_for_streams(recorded: MetricCapture) -> None:
    one_chat(input_tokens=1, output_tokens=1)
    assert recorded.points(semconv.METRIC_TIME_TO_FIRST_CHUNK) == []
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.mark_first_token()
        call.record_usage(input_tokens=1, output_tokens=1)
    recorded.collect()
    metric = recorded.metric(semconv.METRIC_TIME_TO_FIRST_CHUNK)
    assert metric.unit == "s"
    [(_, point)] = recorded.points(metric.name)
    assert point.count == 1
    assert tuple(point.explicit_bounds) == SECOND_BOUNDS


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
    assert len(recorded.points(semconv.METRIC_TOKEN_USAGE)) == 2


def test_estimated_tokens_are_marked(recorded: MetricCapture) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai", operation="text_completion") as call:
        call.set_input_messages("tiktoken is great!")
    [(attributes, point)] = recorded.points(semconv.METRIC_TOKEN_USAGE)
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
    for name in (
        semconv.METRIC_TOKEN_USAGE,
        semconv.METRIC_OPERATION_DURATION,
        semconv.METRIC_COST,
    ):
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
                semconv.GEN_AI_TOKEN_TYPE,
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
    [(attributes, point)] = recorded.points(semconv.METRIC_OPERATION_DURATION)
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
    assert {semconv.METRIC_TOKEN_USAGE, semconv.METRIC_OPERATION_DURATION} <= names
    provider.shutdown()


def test_configure_twice_with_the_same_provider_keeps_the_instruments() -> None:
    provider = MeterProvider(metric_readers=[InMemoryMetricReader()], shutdown_on_exit=False)
    metrics.configure(provider)
    first = metrics._instruments
    metrics.configure(provider)
    assert metrics._instruments is first
    provider.shutdown()
