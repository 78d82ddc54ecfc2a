"""The export defaults a new user runs with (issue #17): a slow-but-healthy collector loses
nothing at exit, a dead one stays bounded, a burst of spans against a healthy collector is
absorbed, drops are reported with their final count, and several exporters run at once.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmtrace
from llmtrace import _setup
from llmtrace._export_processor import HEALTHY_QUEUE_FACTOR, ExportProcessor
from tests.support.reliability import (
    Figures,
    OTLPHttpCollector,
    export_processor,
    refused_endpoint,
)


@llmtrace.trace(name="job")
def job(n: int) -> int:
    return n


class GatedExporter(SpanExporter):
    """A healthy exporter that, once ``close()`` is called, holds each export until ``open()``."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []
        self._gate = threading.Event()
        self._gate.set()

    def close(self) -> None:
        self._gate.clear()

    def open(self) -> None:
        self._gate.set()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self._gate.wait(60)
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


# -- item 5: a slow first export at the defaults ------------------------------------------
EXITING_APP = """
    import sys
    import llmtrace

    # Every setting at its default, as in a new user's first script.
    llmtrace.init(endpoint=sys.argv[1], service_name="short-script", instrument=False)

    @llmtrace.trace(name="job")
    def job(n):
        return n

    for i in range(25):
        job(i)
    print("done", flush=True)
"""


def _run(source: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMTRACE_"))}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_a_slow_but_healthy_collector_loses_nothing_at_exit_with_the_defaults() -> None:
    # Answers its first request only after 6 s, longer than the 5 s default shutdown
    # timeout (MLflow takes 7-8 s to accept its first GenAI spans).
    with OTLPHttpCollector() as collector:
        collector.delay_s = 1.2 * _setup.DEFAULT_SHUTDOWN_TIMEOUT
        result = _run(EXITING_APP, collector.endpoint)
        assert result.returncode == 0, result.stderr
        assert collector.span_count == 25, result.stderr
    assert "dropped" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_refused_collector_is_not_waited_for_past_the_default_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handle = llmtrace.init(endpoint=refused_endpoint(), instrument=False, metrics=False)
    for i in range(20):
        job(i)
    started = time.monotonic()
    assert llmtrace.shutdown() is False
    elapsed = time.monotonic() - started
    Figures.record("shutdown.refused.default_settings.elapsed_s", round(elapsed, 3))
    # Bounded by the default timeout, not by the patience kept for a reachable collector.
    assert elapsed < _setup.SHUTDOWN_PATIENCE / 2
    assert any("shutdown timed out" in r.getMessage() for r in caplog.records)
    processor = export_processor(handle)
    assert processor.dropped + processor.failed + processor.sending == 20


def test_an_explicit_shutdown_timeout_stays_a_hard_bound() -> None:
    exporter = GatedExporter()
    exporter.close()  # reachable and healthy, but never answers while the test runs
    llmtrace.init(exporter=exporter, instrument=False, metrics=False, shutdown_timeout=0.5)
    job(1)
    started = time.monotonic()
    assert llmtrace.shutdown() is False
    assert time.monotonic() - started < _setup.DEFAULT_SHUTDOWN_TIMEOUT
    exporter.open()


# -- item 6: bursts against a healthy collector, and the final count ---------------------
def test_a_healthy_exporter_absorbs_bursts_and_the_warning_carries_the_final_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limit = 100
    exporter = GatedExporter()
    handle = llmtrace.init(exporter=exporter, instrument=False, metrics=False, max_queue_size=limit)
    processor = export_processor(handle)
    job(0)
    assert llmtrace.force_flush(timeout=10)  # one export succeeded: the collector is healthy

    exporter.close()  # now slower than the app: nothing leaves while the burst is produced
    burst = limit * HEALTHY_QUEUE_FACTOR
    for i in range(burst):
        job(i)
    assert processor.dropped == 0

    for i in range(500):  # beyond the burst capacity: dropped, counted, one warning
        job(i)
    assert processor.dropped > 0
    started = [r for r in caplog.records if "export queue full" in r.getMessage()]
    assert len(started) == 1
    assert started[0].levelno == logging.WARNING
    assert "faster than one export thread" in started[0].getMessage()

    exporter.open()
    assert llmtrace.force_flush(timeout=30)
    summaries = [r for r in caplog.records if "has room again" in r.getMessage()]
    assert len(summaries) == 1
    assert summaries[0].levelno == logging.WARNING
    assert f"{processor.dropped} span(s) were dropped" in summaries[0].getMessage()
    assert len(exporter.spans) + processor.dropped == 1 + burst + 500


def test_a_failing_exporter_keeps_the_small_queue_limit() -> None:
    class Failing(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.FAILURE

        def shutdown(self) -> None:
            return None

    limit = 50
    handle = llmtrace.init(
        exporter=Failing(), instrument=False, metrics=False, max_queue_size=limit
    )
    processor = export_processor(handle)
    job(0)
    llmtrace.force_flush(timeout=10)
    for i in range(20 * limit):
        job(i)
        assert processor.queued <= limit


# -- item 9: several exporters at once ------------------------------------------------
def _processors(handle: llmtrace.Tracing) -> list[ExportProcessor]:
    return [p for p in handle._processors if isinstance(p, ExportProcessor)]


def test_several_exporters_each_get_every_span() -> None:
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    handle = llmtrace.init(exporter=[first, second], instrument=False, metrics=False)
    assert len(_processors(handle)) == 2
    for i in range(10):
        job(i)
    assert llmtrace.shutdown(timeout=10)
    assert len(first.get_finished_spans()) == 10
    assert len(second.get_finished_spans()) == 10


def test_a_stuck_exporter_does_not_hold_up_the_other() -> None:
    stuck, healthy = GatedExporter(), InMemorySpanExporter()
    stuck.close()
    handle = llmtrace.init(
        exporter=[stuck, healthy], instrument=False, metrics=False, shutdown_timeout=1.0
    )
    for i in range(10):
        job(i)
    assert llmtrace.shutdown() is False  # the stuck one lost its spans ...
    assert len(healthy.get_finished_spans()) == 10  # ... the healthy one got all of them
    assert handle.exported_spans == 10
    stuck.open()


def test_several_exporters_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with OTLPHttpCollector() as collector:
        monkeypatch.setenv("LLMTRACE_EXPORTER", "otlp,console")
        handle = llmtrace.init(endpoint=collector.endpoint, instrument=False, metrics=False)
        assert handle.settings.console_enabled
        job(1)
        assert llmtrace.shutdown(timeout=10)
        assert collector.span_count == 1
