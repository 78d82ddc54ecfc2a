"""init(): what it installs, what it leaves alone, and that calling it twice is safe."""

from __future__ import annotations

import io
import logging

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmtrace
from llmtrace import ConfigurationError, _setup
from llmtrace import _console as console
from llmtrace._runtime import runtime


@llmtrace.trace(kind="workflow", name="pipeline")
def pipeline() -> str:
    return step()


@llmtrace.trace(name="step")
def step() -> str:
    return "done"


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_SDK_DISABLED",
    ):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.usefixtures("no_env")
def test_without_a_collector_init_prints_a_trace_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(console.sys, "stderr", out)
    handle = llmtrace.init(service_name="demo", instrument=False)
    assert handle.settings.exporter_name == "console"
    pipeline()
    text = out.getvalue()
    assert "invoke_workflow pipeline" in text
    assert "└── step" in text


@pytest.mark.usefixtures("no_env")
def test_init_installs_a_global_provider_with_the_service_name() -> None:
    llmtrace.init(service_name="svc", exporter="none", instrument=False)
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    assert provider.resource.attributes["service.name"] == "svc"
    assert provider.resource.attributes["telemetry.distro.name"] == "llmtrace"


def test_a_custom_exporter_receives_the_spans_after_flush() -> None:
    exporter = InMemorySpanExporter()
    llmtrace.init(exporter=exporter, instrument=False)
    pipeline()
    assert llmtrace.force_flush(timeout=5)
    assert sorted(s.name for s in exporter.get_finished_spans()) == [
        "invoke_workflow pipeline",
        "step",
    ]


def test_calling_init_twice_is_safe_and_keeps_the_first_setup(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exporter = InMemorySpanExporter()
    first = llmtrace.init(exporter=exporter, instrument=False)
    with caplog.at_level(logging.WARNING, logger="llmtrace"):
        second = llmtrace.init(exporter="none", instrument=False)
    assert second is first
    assert "called again" in caplog.text
    step()
    llmtrace.force_flush()
    assert [s.name for s in exporter.get_finished_spans()] == ["step"]  # exported once, not twice


def test_an_existing_sdk_provider_is_kept_and_extended(caplog: pytest.LogCaptureFixture) -> None:
    app_exporter = InMemorySpanExporter()
    app_provider = TracerProvider()
    app_provider.add_span_processor(SimpleSpanProcessor(app_exporter))
    trace.set_tracer_provider(app_provider)
    with caplog.at_level(logging.DEBUG, logger="llmtrace"):
        handle = llmtrace.init(instrument=False)
    assert trace.get_tracer_provider() is app_provider
    assert handle.tracer_provider is app_provider
    assert "already set" in caplog.text
    with llmtrace.session(session_id="s-app"):
        step()
    (span,) = app_exporter.get_finished_spans()
    assert span.attributes["session.id"] == "s-app"  # our processor was added


def test_a_provider_passed_to_init_is_used_instead_of_building_one() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    llmtrace.init(tracer_provider=provider, instrument=False)
    step()
    assert [s.name for s in exporter.get_finished_spans()] == ["step"]
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)  # global left alone


def test_sdk_disabled_turns_everything_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    handle = llmtrace.init(instrument=False)
    assert not handle.enabled
    assert runtime.tracer() is None
    assert pipeline() == "done"
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


def test_sample_rate_zero_records_nothing() -> None:
    exporter = InMemorySpanExporter()
    llmtrace.init(exporter=exporter, sample_rate=0.0, instrument=False)
    pipeline()
    llmtrace.force_flush()
    assert exporter.get_finished_spans() == ()


def test_bad_configuration_fails_init_with_a_clear_message() -> None:
    with pytest.raises(ConfigurationError, match="sample_rate"):
        llmtrace.init(sample_rate=-1)
    assert _setup.active() is None


def test_shutdown_is_idempotent_and_stops_export() -> None:
    exporter = InMemorySpanExporter()
    handle = llmtrace.init(exporter=exporter, instrument=False)
    assert llmtrace.shutdown(timeout=5)
    assert llmtrace.shutdown(timeout=5)
    assert not handle.enabled
    assert runtime.tracer_provider is None


def test_settings_reach_the_hot_path_once() -> None:
    def redact(value: object) -> object:
        return value

    llmtrace.init(
        exporter="none",
        capture_content=True,
        max_attribute_bytes=4096,
        redact=redact,
        instrument=False,
    )
    assert runtime.capture_content is True
    assert runtime.max_attribute_bytes == 4096
    assert runtime.redact is redact


def test_init_after_shutdown_applies_the_new_settings() -> None:
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    llmtrace.init(exporter=first, service_name="first", instrument=False)
    step()
    llmtrace.shutdown(timeout=5)
    llmtrace.init(exporter=second, service_name="second", instrument=False)
    step()
    llmtrace.force_flush(timeout=5)
    assert [s.resource.attributes["service.name"] for s in first.get_finished_spans()] == ["first"]
    assert [s.resource.attributes["service.name"] for s in second.get_finished_spans()] == [
        "second"
    ]


def test_header_names_are_lowercased_for_grpc() -> None:
    handle = llmtrace.init(
        exporter="none", headers={"Authorization": "Bearer t", "X-Tenant": "a"}, instrument=False
    )
    assert handle.settings.headers == {"authorization": "Bearer t", "x-tenant": "a"}
