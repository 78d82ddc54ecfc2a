"""A broken collector never harms the app: calls succeed, stay fast, memory stays bounded.

Real OTLP exporters from ``llmtrace.init(endpoint=...)`` talk to fake collectors on
127.0.0.1 that refuse connections, accept and never answer, answer slowly, answer
429/500/503, or stop and come back. Every span the app ends is accounted for: it
reached the collector, or it is counted in ``dropped`` (queue full) or ``failed``
(the exporter gave up on its batch), never lost silently.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import pytest

import llmtrace
from tests.support.reliability import (
    BlackHole,
    Figures,
    GrpcCollector,
    OTLPHttpCollector,
    export_processor,
    free_port,
    refused_endpoint,
    seconds_per_call,
    stop_tracing,
    tracing_to,
)


@llmtrace.trace(name="handle_request", kind="workflow")
def handle_request(n: int) -> dict[str, int]:
    return lookup(n)


@llmtrace.trace(name="lookup")
def lookup(n: int) -> dict[str, int]:
    return json.loads(json.dumps({"n": n, "double": 2 * n}))


def plain_request(n: int) -> dict[str, int]:
    return json.loads(json.dumps({"n": n, "double": 2 * n}))


def _exercise() -> None:
    assert handle_request(21) == {"n": 21, "double": 42}


@contextmanager
def faulty_collector(fault: str) -> Iterator[str]:
    """Yield the endpoint of a collector with ``fault``; clean it up afterwards."""
    if fault == "refused":
        yield refused_endpoint()
    elif fault == "blackhole":
        with BlackHole() as hole:
            yield hole.endpoint
    else:
        with OTLPHttpCollector() as collector:
            if fault == "slow":
                collector.delay_s = 2.0
            else:
                collector.always = int(fault)
            yield collector.endpoint


FAULTS = ["refused", "blackhole", "slow", "429", "500", "503"]


@pytest.mark.parametrize("fault", FAULTS)
def test_app_calls_succeed_and_stay_fast_whatever_the_collector_does(
    fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    plain = seconds_per_call(lambda: plain_request(21))
    # A queue big enough for the whole burst, so that the healthy run drops nothing.
    with OTLPHttpCollector() as healthy, tracing_to(healthy.endpoint, max_queue_size=10_000):
        healthy_call = seconds_per_call(_exercise)
        assert llmtrace.force_flush(timeout=5)
        assert healthy.span_count == 2 * 50 * 20

    with (
        faulty_collector(fault) as endpoint,
        tracing_to(endpoint, max_queue_size=10_000, shutdown_timeout=0.5) as handle,
    ):
        faulty_call = seconds_per_call(_exercise)
        processor = export_processor(handle)
        accounted = processor.exported + processor.failed + processor.dropped
        assert accounted + processor.queued + processor.sending == 2 * 50 * 20

    # The user's calls returned their results (asserted in _exercise) and nothing raised.
    # Ending a span only appends it to a queue, so a broken collector adds no latency:
    # the ratio allows generous noise, not a network wait (an export takes seconds here).
    added_healthy = max(healthy_call - plain, 1e-9)
    added_faulty = max(faulty_call - plain, 1e-9)
    Figures.record(
        f"latency.{fault}",
        {
            "plain_us": round(plain * 1e6, 2),
            "healthy_us": round(healthy_call * 1e6, 2),
            "faulty_us": round(faulty_call * 1e6, 2),
            "call_ratio": round(faulty_call / healthy_call, 3),
            "added_ratio": round(added_faulty / added_healthy, 3),
        },
    )
    assert faulty_call / healthy_call < 2.0
    assert not [r for r in caplog.records if r.name == "llmtrace" and r.levelno >= logging.ERROR]


def test_queue_limit_is_honoured_and_drops_are_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    total, limit = 10_000, 100
    collector = OTLPHttpCollector()  # not started yet: its port refuses connections
    caplog.set_level(logging.INFO, logger="llmtrace")
    with tracing_to(collector.endpoint, max_queue_size=limit, export_timeout=30.0) as handle:
        processor = export_processor(handle)
        tracemalloc.start()
        try:
            for i in range(2 * limit):  # fills the queue (one batch is stuck sending)
                lookup(i)
            gc.collect()
            full_queue, _ = tracemalloc.get_traced_memory()
            for i in range(1000):  # the first drops: lazy imports, the refilled queue
                lookup(i)
            gc.collect()
            dropping, _ = tracemalloc.get_traced_memory()
            for i in range(total - 1000 - 2 * limit):
                lookup(i)
                if i % 500 == 0:
                    assert processor.queued <= limit
            gc.collect()
            after, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

        drop_warnings = [r for r in caplog.records if "export queue full" in r.getMessage()]
        assert len(drop_warnings) == 1  # one line for the burst, not one per span
        assert handle.dropped_spans == processor.dropped >= total - 2 * limit
        assert processor.queued <= limit
        # Memory stays flat while dropping: the last 8,800 drops leave behind less than
        # a tenth of what the 200 spans in the queue and the stuck batch take.
        growth = after - dropping
        Figures.record(
            "queue_limit.memory",
            {"held_by_full_queue_bytes": full_queue, "growth_over_8800_drops_bytes": growth},
        )
        assert growth < full_queue / 10

        collector.start()  # the collector comes back: what was still queued is delivered
        try:
            assert llmtrace.force_flush(timeout=10)
            lookup(-1)
            assert llmtrace.force_flush(timeout=10)
            assert collector.span_count == total + 1 - processor.dropped - processor.failed
            assert handle.exported_spans == collector.span_count
            assert handle.failed_spans == processor.failed
            assert processor.failed == 0
            summaries = [r for r in caplog.records if "has room again" in r.getMessage()]
            assert len(summaries) == 1
            assert f"{processor.dropped} span(s) were dropped" in summaries[0].getMessage()
            Figures.record(
                "queue_limit",
                {
                    "spans": total + 1,
                    "max_queue_size": limit,
                    "dropped_counted": processor.dropped,
                    "delivered": collector.span_count,
                    "failed": processor.failed,
                    "unaccounted": total + 1 - processor.dropped - collector.span_count,
                },
            )
        finally:
            stop_tracing()
            collector.stop()


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_export_resumes_after_a_collector_restart_without_losing_queued_spans(
    protocol: str,
) -> None:
    collector: OTLPHttpCollector | GrpcCollector = (
        GrpcCollector() if protocol == "grpc" else OTLPHttpCollector()
    )
    collector.start()
    with tracing_to(collector.endpoint, protocol=protocol, export_timeout=15.0) as handle:
        for i in range(20):
            lookup(i)
        assert llmtrace.force_flush(timeout=10)
        assert collector.span_count == 20

        collector.stop()  # down: connections refused while the app keeps working
        for i in range(300):
            assert lookup(i)["double"] == 2 * i
        time.sleep(0.3)  # let the exporter hit the dead port and start backing off
        collector.start()

        assert llmtrace.force_flush(timeout=15)
        processor = export_processor(handle)
        assert (processor.dropped, processor.failed) == (0, 0)
        assert collector.span_count == 320
        assert sorted(collector.received.span_names) == ["lookup"] * 320
    collector.stop()
    Figures.add("restart.spans_delivered", 320)
    Figures.add("restart.spans_lost", 320 - collector.span_count)


@pytest.mark.parametrize("status", [429, 503])
def test_a_collector_asking_to_retry_loses_nothing(status: int) -> None:
    with OTLPHttpCollector() as collector, tracing_to(collector.endpoint, export_timeout=10.0):
        collector.statuses = [status, status]
        for i in range(50):
            lookup(i)
        assert llmtrace.force_flush(timeout=10)
        assert collector.span_count == 50
        assert collector.received.attempts == 3


def test_a_rejected_batch_is_counted_as_failed_then_exports_resume(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="llmtrace")
    with OTLPHttpCollector() as collector, tracing_to(collector.endpoint) as handle:
        collector.statuses = [500]  # not retryable: the exporter gives the batch up
        for i in range(30):
            lookup(i)
        assert llmtrace.force_flush(timeout=5) is False
        processor = export_processor(handle)
        assert processor.failed == 30
        assert [
            r.levelno for r in caplog.records if "failed" in r.getMessage() and r.name == "llmtrace"
        ] == [logging.WARNING]

        for i in range(10):
            lookup(i)
        assert llmtrace.force_flush(timeout=5)
        assert collector.span_count == 10
        assert any("exports succeed again; 30 span(s)" in r.getMessage() for r in caplog.records)


def test_an_exporter_that_raises_costs_its_batch_not_the_app(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        calls = 0

        def export(self, batch: object) -> None:
            Broken.calls += 1
            raise RuntimeError("exporter bug")

        def shutdown(self) -> None:
            return None

        def force_flush(self, timeout_millis: int = 0) -> bool:
            return True

    handle = llmtrace.init(exporter=Broken(), instrument=False, service_name="broken")
    for _ in range(3):
        _exercise()
        llmtrace.force_flush(timeout=5)
    processor = export_processor(handle)
    assert (Broken.calls, processor.failed) == (3, 6)
    logged = [r for r in caplog.records if r.name == "llmtrace" and "failed" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None  # once, with the traceback


def test_spans_ending_in_many_threads_never_exceed_the_queue_limit() -> None:
    limit = 64
    with tracing_to(
        refused_endpoint(), max_queue_size=limit, export_timeout=30.0, shutdown_timeout=0.5
    ) as handle:
        processor = export_processor(handle)
        peak = 0
        stop = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, processor.queued)

        watcher = threading.Thread(target=watch)
        watcher.start()
        threads = [
            threading.Thread(target=lambda: [lookup(i) for i in range(500)]) for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stop.set()
        watcher.join()
        assert peak <= limit
        in_queue = processor.queued + processor.sending
        assert processor.dropped + in_queue + processor.failed == 8 * 500


def _grpc_blackhole() -> AbstractContextManager[BlackHole]:
    return BlackHole()


@pytest.mark.parametrize("make_fault", [_grpc_blackhole, lambda: nullcontext(None)])
def test_grpc_exporter_faults_never_reach_the_app(
    make_fault: Callable[[], AbstractContextManager[BlackHole | None]],
) -> None:
    with make_fault() as hole:
        endpoint = hole.endpoint if hole is not None else f"http://127.0.0.1:{free_port()}"
        with tracing_to(endpoint, protocol="grpc", export_timeout=1.0, shutdown_timeout=1.0):
            for i in range(100):
                assert lookup(i)["n"] == i
            started = time.monotonic()
            llmtrace.shutdown(timeout=1.0)
            assert time.monotonic() - started < 1.0 + 1.0


def test_a_span_with_an_unencodable_string_does_not_cost_its_batch() -> None:
    """A lone surrogate (e.g. from json.loads of a bad escape) cannot be protobuf-encoded;
    without care the exporter fails the whole batch and every span in it is lost."""
    broken = json.loads('"smile \\ud83d please"')

    @llmtrace.trace(name="echo", capture_input=True, capture_output=True)
    def echo(text: str) -> str:
        return text

    with OTLPHttpCollector() as collector, tracing_to(collector.endpoint) as handle:
        for i in range(10):
            lookup(i)
        assert echo(broken * 200) == broken * 200
        with llmtrace.span("manual") as span:
            span.set_attribute("note", broken)
        assert llmtrace.force_flush(timeout=5)
        assert export_processor(handle).failed == 0
        assert sorted(collector.received.span_names) == ["echo"] + ["lookup"] * 10 + ["manual"]
        manual = next(s for s in collector.received.spans() if s.name == "manual")
        note = next(a.value.string_value for a in manual.attributes if a.key == "note")
        assert note == "smile \ufffd please"
