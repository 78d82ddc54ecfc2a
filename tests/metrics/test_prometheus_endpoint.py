"""``init(metrics_exporter="prometheus")``: the scrape endpoint, its settings and failures.

These read the endpoint over HTTP with ``prometheus_client``'s own text parser; no
Prometheus server is needed (``test_prometheus_server.py`` has the real one).
"""

from __future__ import annotations

import logging
import socket
import urllib.request
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client.parser import text_string_to_metric_families

import llmtrace
from llmtrace._config import resolve_settings
from llmtrace._genai import metrics, pricing

PRICES = {"models": {"acme-chat*": {"input": 1.0, "output": 4.0}}}


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    yield
    llmtrace.shutdown()
    metrics.reset()
    pricing.clear_price_overrides()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(url: str) -> dict[str, float]:
    """``name{label="value",...}`` -> value of every sample the endpoint serves."""
    with urllib.request.urlopen(url, timeout=10) as reply:
        text = reply.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def llm_calls(count: int) -> None:
    for _ in range(count):
        with llmtrace.llm_call("acme-chat", provider="openai") as call:
            call.record_response(model="acme-chat-1")
            call.record_usage(input_tokens=100, output_tokens=10)


def matching(samples: dict[str, float], name: str, *labels: str) -> list[float]:
    return [
        value
        for key, value in samples.items()
        if key.startswith(name + "{") and all(label in key for label in labels)
    ]


def test_serves_the_metrics_for_prometheus() -> None:
    handle = llmtrace.init(
        exporter="none",
        instrument=False,
        metrics_exporter="prometheus",
        prometheus_host="127.0.0.1",
        prometheus_port=0,
        prices=PRICES,
    )
    assert handle.prometheus_url is not None
    assert handle.prometheus_url.startswith("http://127.0.0.1:")
    assert handle.prometheus_url.endswith("/metrics")
    llm_calls(3)
    samples = scrape(handle.prometheus_url)
    assert matching(samples, "gen_ai_client_inference_duration_seconds_count") == [3.0]
    assert matching(samples, "gen_ai_client_inference_operation_input_tokens_sum") == [300.0]
    [cost] = matching(samples, "llmtrace_client_cost_USD_total", 'gen_ai_response_model="acme')
    assert cost == pytest.approx(3 * (100 * 1.0 + 10 * 4.0) / 1e6, rel=1e-12)


def test_environment_variables_choose_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "prometheus")
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", str(port))
    handle = llmtrace.init(exporter="none", instrument=False)
    assert handle.prometheus_url == f"http://127.0.0.1:{port}/metrics"
    llm_calls(1)
    assert matching(scrape(handle.prometheus_url), "gen_ai_client_inference_duration_seconds_count")


def test_llmtrace_variables_win_over_the_otel_ones() -> None:
    settings = resolve_settings(
        {},
        {
            "OTEL_METRICS_EXPORTER": "otlp",
            "LLMTRACE_METRICS_EXPORTER": "prometheus",
            "OTEL_EXPORTER_PROMETHEUS_PORT": "9000",
            "LLMTRACE_PROMETHEUS_PORT": "9100",
            "OTEL_EXPORTER_PROMETHEUS_HOST": "0.0.0.0",
        },
    )
    assert settings.metric_exporters == ("prometheus",)
    assert (settings.prometheus_host, settings.prometheus_port) == ("0.0.0.0", 9100)


def test_defaults_follow_the_opentelemetry_specification() -> None:
    settings = resolve_settings({}, {})
    assert (settings.prometheus_host, settings.prometheus_port) == ("localhost", 9464)
    assert settings.metric_exporters == ()  # no endpoint: nothing exported
    with_endpoint = resolve_settings({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"})
    assert with_endpoint.metric_exporters == ("otlp",)  # OTLP stays the default
    both = resolve_settings({"metrics_exporter": "otlp, prometheus"}, {})
    assert both.metric_exporters == ("otlp", "prometheus")
    assert resolve_settings({"metrics_exporter": "none"}, {}).metric_exporters == ()
    assert resolve_settings({"metrics_exporter": ["Prometheus"]}, {}).metric_exporters == (
        "prometheus",
    )


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("metrics_exporter", "statsd"),
        ("prometheus_port", 70000),
        ("prometheus_port", -1),
        ("prometheus_host", "http://0.0.0.0"),
    ],
)
def test_a_bad_argument_is_a_configuration_error(argument: str, value: object) -> None:
    with pytest.raises(llmtrace.ConfigurationError, match=argument):
        llmtrace.init(exporter="none", instrument=False, **{argument: value})  # type: ignore[arg-type]


def test_a_bad_environment_variable_warns_and_uses_the_default(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="llmtrace"):
        settings = resolve_settings(
            {}, {"LLMTRACE_PROMETHEUS_PORT": "ninety", "OTEL_METRICS_EXPORTER": "console"}
        )
    assert settings.prometheus_port == 9464
    assert settings.metrics_exporter is None
    assert "LLMTRACE_PROMETHEUS_PORT" in caplog.text
    assert "OTEL_METRICS_EXPORTER" in caplog.text


def test_a_port_in_use_is_one_warning_never_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.WARNING, logger="llmtrace"):
            handle = llmtrace.init(
                exporter="none",
                instrument=False,
                metrics_exporter="prometheus",
                prometheus_host="127.0.0.1",
                prometheus_port=port,
            )
            llm_calls(2)  # the app keeps working; nothing is recorded for nobody
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert f"127.0.0.1:{port}" in warnings[0].getMessage()
    assert "prometheus_port" in warnings[0].getMessage()
    assert handle.enabled
    assert handle.prometheus_url is None
    assert not metrics.is_configured()


def test_shutdown_frees_the_port_for_the_next_init() -> None:
    port = free_port()
    options = {
        "exporter": "none",
        "instrument": False,
        "metrics_exporter": "prometheus",
        "prometheus_host": "127.0.0.1",
        "prometheus_port": port,
    }
    first = llmtrace.init(**options)  # type: ignore[arg-type]
    llm_calls(1)
    assert first.prometheus_url is not None
    assert matching(scrape(first.prometheus_url), "gen_ai_client_inference_duration_seconds_count")
    llmtrace.shutdown()
    with pytest.raises(OSError):
        urllib.request.urlopen(first.prometheus_url, timeout=5)
    second = llmtrace.init(**options)  # type: ignore[arg-type]
    assert second.prometheus_url == first.prometheus_url
    llm_calls(2)
    # A new provider: counts start again from zero (Prometheus sees a counter reset).
    assert matching(
        scrape(second.prometheus_url), "gen_ai_client_inference_duration_seconds_count"
    ) == [2.0]


def test_an_application_meter_provider_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    from opentelemetry import metrics as otel_metrics

    otel_metrics.set_meter_provider(provider)
    port = free_port()
    handle = llmtrace.init(
        exporter="none",
        instrument=False,
        metrics_exporter="prometheus",
        prometheus_host="127.0.0.1",
        prometheus_port=port,
    )
    assert handle.meter_provider is provider
    assert handle.prometheus_url is None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # nothing listens there
    llm_calls(1)
    assert reader.get_metrics_data() is not None
    provider.shutdown()


def test_otlp_and_prometheus_together() -> None:
    port = free_port()
    # A collector that accepts connections and never answers: every OTLP export waits for
    # its timeout, so shutdown() gives up waiting for the flush and leaves it running.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    options = {
        "endpoint": f"http://127.0.0.1:{silent.getsockname()[1]}",
        "instrument": False,
        "metrics_exporter": "otlp,prometheus",
        "prometheus_host": "127.0.0.1",
        "prometheus_port": port,
        "shutdown_timeout": 0.5,
        "export_timeout": 2,
    }
    handle = llmtrace.init(**options)  # type: ignore[arg-type]
    assert handle.settings.metric_exporters == ("otlp", "prometheus")
    assert handle.prometheus_url == f"http://127.0.0.1:{port}/metrics"
    llm_calls(3)
    samples = scrape(handle.prometheus_url)
    assert matching(samples, "gen_ai_client_inference_duration_seconds_count") == [3.0]
    # The endpoint stops at once, even while the OTLP flush to the dead collector is still
    # running past shutdown_timeout: the next init() gets the port, and serves its own
    # counts only (never the old provider's on top).
    llmtrace.shutdown()
    again = llmtrace.init(**options)  # type: ignore[arg-type]
    assert again.prometheus_url == handle.prometheus_url
    llm_calls(1)
    samples = scrape(handle.prometheus_url)
    assert matching(samples, "gen_ai_client_inference_duration_seconds_count") == [1.0]
    llmtrace.shutdown()
    silent.close()
