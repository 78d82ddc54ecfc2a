"""Our GenAI attribute keys are the conventions' own names."""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as upstream
from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as upstream_metrics

from llmtrace import semconv


def test_genai_keys_match_the_semantic_conventions_package() -> None:
    checked = 0
    for name in dir(semconv):
        if name.startswith("GEN_AI_") and hasattr(upstream, name):
            assert getattr(semconv, name) == getattr(upstream, name), name
            checked += 1
    assert checked >= 40


def test_metric_names_match() -> None:
    assert semconv.METRIC_TOKEN_USAGE == upstream_metrics.GEN_AI_CLIENT_TOKEN_USAGE
    assert semconv.METRIC_OPERATION_DURATION == upstream_metrics.GEN_AI_CLIENT_OPERATION_DURATION
    assert (
        semconv.METRIC_TIME_TO_FIRST_CHUNK
        == upstream_metrics.GEN_AI_CLIENT_OPERATION_TIME_TO_FIRST_CHUNK
    )


def test_operation_values_match() -> None:
    values = {v.value for v in upstream.GenAiOperationNameValues}
    for name in dir(semconv):
        if name.startswith("OP_"):
            assert getattr(semconv, name) in values, name


def test_openai_keys_match() -> None:
    from opentelemetry.semconv._incubating.attributes import openai_attributes

    assert semconv.OPENAI_API_TYPE == openai_attributes.OPENAI_API_TYPE
    values = {v.value for v in openai_attributes.OpenaiApiTypeValues}
    assert {semconv.OPENAI_API_CHAT_COMPLETIONS, semconv.OPENAI_API_RESPONSES} <= values
    for name in ("OPENAI_REQUEST_SERVICE_TIER", "OPENAI_RESPONSE_SERVICE_TIER"):
        assert getattr(semconv, name) == getattr(openai_attributes, name)
