"""Settings: arguments win over environment over defaults; bad values give clear messages."""

from __future__ import annotations

import logging

import pytest

from llmtrace import ConfigurationError
from llmtrace._config import parse_key_value_list, resolve_settings


def test_defaults() -> None:
    settings = resolve_settings({}, environ={})
    assert settings.exporter_name == "console"
    assert settings.console_enabled
    assert settings.protocol == "http/protobuf"
    assert settings.capture_content is False
    assert settings.max_attribute_bytes == 2048
    assert settings.instrument is None  # every supported library that is installed


def test_standard_otel_environment_variables_are_read() -> None:
    env = {
        "OTEL_SERVICE_NAME": "svc",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,team=ml",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Basic%20abc,x-tenant=t1",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true",
        "OTEL_SDK_DISABLED": "false",
    }
    settings = resolve_settings({}, environ=env)
    assert settings.service_name == "svc"
    assert settings.resource_attributes == {"deployment.environment": "prod", "team": "ml"}
    assert settings.endpoint == "http://collector:4318"
    assert settings.exporter_name == "otlp"
    assert not settings.console_enabled
    assert settings.protocol == "grpc"
    assert settings.headers == {"authorization": "Basic abc", "x-tenant": "t1"}
    assert settings.capture_content is True
    assert settings.disabled is False


def test_signal_specific_variables_win_over_general_ones() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://general:4318",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/v1/traces",
    }
    assert resolve_settings({}, environ=env).endpoint == "http://traces:4318/v1/traces"


def test_arguments_win_over_the_environment() -> None:
    env = {"OTEL_SERVICE_NAME": "from-env", "LLMTRACE_CAPTURE_CONTENT": "true"}
    settings = resolve_settings({"service_name": "from-arg", "capture_content": False}, environ=env)
    assert settings.service_name == "from-arg"
    assert settings.capture_content is False


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"sample_rate": 2.0}, r"sample_rate=2\.0.*less than or equal to 1"),
        ({"protocol": "udp"}, r"protocol='udp'.*'grpc' or 'http/protobuf'"),
        ({"exporter": "zipkin"}, r"exporter='zipkin'.*'otlp', 'console', 'none' or a SpanExporter"),
        ({"endpoint": "collector:4317"}, r"endpoint='collector:4317'.*http:// or https://"),
        ({"instrument": ["openai", "llamaindex"]}, r"unknown instrumentation 'llamaindex'"),
        ({"max_attribute_bytes": 10}, r"max_attribute_bytes=10.*greater than or equal to 128"),
        ({"tracer_provider": object()}, r"tracer_provider=.*TracerProvider"),
    ],
)
def test_a_bad_argument_fails_with_one_clear_message(arguments: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        resolve_settings(arguments, environ={})


def test_header_values_never_appear_in_error_messages() -> None:
    with pytest.raises(ConfigurationError) as raised:
        resolve_settings({"headers": {"authorization": 12345}}, environ={})
    assert "12345" not in str(raised.value)


def test_a_malformed_environment_variable_warns_and_uses_the_default(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = {
        "LLMTRACE_SAMPLE_RATE": "lots",
        "LLMTRACE_CAPTURE_CONTENT": "maybe",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon",
        "OTEL_EXPORTER_OTLP_HEADERS": "no-equals-sign-secret-token",
    }
    with caplog.at_level(logging.WARNING, logger="llmtrace"):
        settings = resolve_settings({}, environ=env)
    assert settings.sample_rate is None
    assert settings.capture_content is False
    assert settings.protocol == "http/protobuf"
    assert settings.headers == {}
    for var in env:
        assert var in caplog.text
    assert "secret-token" not in caplog.text


def test_instrument_accepts_bool_list_or_comma_string() -> None:
    assert resolve_settings({"instrument": False}, environ={}).instrument == ()
    assert resolve_settings({"instrument": ["OpenAI"]}, environ={}).instrument == ("openai",)
    env = {"LLMTRACE_INSTRUMENT": "langchain, openai"}
    assert resolve_settings({}, environ=env).instrument == ("langchain", "openai")
    assert resolve_settings({}, environ={"LLMTRACE_INSTRUMENT": "none"}).instrument == ()


def test_key_value_lists() -> None:
    assert parse_key_value_list("a=1, b = two ,c=x%3Dy") == {"a": "1", "b": "two", "c": "x=y"}
    with pytest.raises(ValueError, match="key=value"):
        parse_key_value_list("a=1,broken")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("SPAN_ONLY", True), ("span_and_event", True), ("EVENT_ONLY", False), ("NO_CONTENT", False)],
)
def test_capture_accepts_the_official_genai_instrumentation_modes(
    value: str, expected: bool
) -> None:
    env = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": value}
    assert resolve_settings({}, environ=env).capture_content is expected
