"""Shutdown and process lifecycle: flushed on a normal exit, bounded under a dead collector,
and still exporting in a child after ``os.fork()``.

The one time bound asserted in this suite is here, because it is the contract:
``shutdown(timeout)`` returns within ``timeout`` (plus scheduling slack), whatever the
collector does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

import llmtrace
from tests.support.reliability import (
    BlackHole,
    Figures,
    OTLPHttpCollector,
    export_processor,
    init_export,
)

SLACK_S = 0.5  # thread scheduling on a loaded machine, not network time


@llmtrace.trace(name="work")
def work(n: int) -> int:
    return n + 1


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_shutdown_under_a_blackholed_collector_returns_within_its_timeout(
    protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    with BlackHole() as hole:
        handle = init_export(
            hole.endpoint, protocol=protocol, export_timeout=30.0, shutdown_timeout=1.0
        )
        for i in range(50):
            assert work(i) == i + 1
        started = time.monotonic()
        assert llmtrace.shutdown() is False  # False: not everything reached the collector
        elapsed = time.monotonic() - started
    Figures.record(f"shutdown.blackhole.{protocol}.elapsed_s_for_timeout_1s", round(elapsed, 3))
    assert elapsed <= 1.0 + SLACK_S
    assert not handle.enabled
    assert any("shutdown timed out" in r.getMessage() for r in caplog.records)


def test_force_flush_under_a_blackholed_collector_returns_within_its_timeout() -> None:
    with BlackHole() as hole:
        init_export(hole.endpoint, export_timeout=30.0, shutdown_timeout=0.5)
        for i in range(50):
            work(i)
        started = time.monotonic()
        assert llmtrace.force_flush(timeout=0.5) is False
        assert time.monotonic() - started <= 0.5 + SLACK_S
        assert work(1) == 2  # tracing keeps working after a flush that timed out
        llmtrace.shutdown()


def test_shutdown_with_a_healthy_collector_delivers_everything() -> None:
    with OTLPHttpCollector() as collector:
        handle = init_export(collector.endpoint)
        for i in range(50):
            work(i)
        assert llmtrace.shutdown() is True
        assert collector.span_count == 50
        assert export_processor(handle).exported == 50
        work(0)  # after shutdown: no span, no error
        assert collector.span_count == 50


def _run_script(source: str, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMTRACE_"))}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(source), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


APP = """
    import sys
    import llmtrace

    llmtrace.init(endpoint=sys.argv[1], service_name="exiting-app", instrument=False,
                  export_timeout=30.0, shutdown_timeout=float(sys.argv[2]))

    @llmtrace.trace(name="job")
    def job(n):
        return n

    for i in range(25):
        job(i)
    print("done", flush=True)
    # no flush, no shutdown: a normal exit must deliver the spans
"""


def test_spans_of_a_normal_exit_are_flushed() -> None:
    with OTLPHttpCollector() as collector:
        process = _run_script(APP, collector.endpoint, "5")
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        assert out.strip() == "done"
        assert collector.span_count == 25
        assert collector.received.span_names == ["job"] * 25
    assert "Traceback" not in err


def test_a_normal_exit_under_a_dead_collector_waits_at_most_the_shutdown_timeout() -> None:
    with BlackHole() as hole:
        process = _run_script(APP, hole.endpoint, "1.0")
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "done"
        started = time.monotonic()
        process.wait(timeout=60)
        elapsed = time.monotonic() - started
        err = process.stderr.read() if process.stderr else ""
    Figures.record("exit.blackhole.elapsed_s_for_timeout_1s", round(elapsed, 3))
    assert process.returncode == 0, err
    assert elapsed <= 1.0 + SLACK_S + 0.5  # + interpreter teardown
    assert "shutdown timed out" in err
    assert "Traceback" not in err


FORKING_APP = """
    import json, os, sys
    import llmtrace
    from llmtrace._export_processor import ExportProcessor

    handle = llmtrace.init(endpoint=sys.argv[1], service_name="prefork", instrument=False)
    processor = next(p for p in handle._processors if isinstance(p, ExportProcessor))

    @llmtrace.trace(name="parent_before")
    def parent_before():
        return 1

    @llmtrace.trace(name="child_work")
    def child_work(n):
        return n

    @llmtrace.trace(name="parent_after")
    def parent_after():
        return 2

    parent_before()
    assert llmtrace.force_flush(timeout=5)  # the parent now holds a pooled connection
    pid = os.fork()
    if pid == 0:  # a gunicorn-style worker: works, then exits normally
        for i in range(5):
            child_work(i)
        assert llmtrace.force_flush(timeout=5)
        print(json.dumps({"child_exported": processor.exported}), flush=True)
        for i in range(3):
            child_work(i)  # left for the exit-time flush
        sys.exit(0)
    _, status = os.waitpid(pid, 0)
    parent_after()
    assert llmtrace.force_flush(timeout=5)
    print(json.dumps({"child_status": status, "parent_exported": processor.exported}), flush=True)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX-only")
def test_a_forked_child_exports_on_its_own_connection() -> None:
    with OTLPHttpCollector() as collector:
        process = _run_script(FORKING_APP, collector.endpoint)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        child, parent = (json.loads(line) for line in out.splitlines())
        assert child == {"child_exported": 5}  # counters start afresh in the child
        assert parent == {"child_status": 0, "parent_exported": 2}
        names = collector.received.span_names
        assert sorted(names) == ["child_work"] * 8 + ["parent_after", "parent_before"]
        # The child built its own exporter: it never wrote on the parent's keep-alive
        # connection (two processes on one HTTP connection mix up their responses).
        by_peer: dict[str, set[int]] = {"child": set(), "parent": set()}
        for request, peer in zip(
            collector.received.requests, collector.received.peers, strict=True
        ):
            whose = "child" if "child_work" in str(request) else "parent"
            by_peer[whose].add(peer[1])
        assert by_peer["child"] and by_peer["parent"]
        assert not by_peer["child"] & by_peer["parent"]
    assert "Traceback" not in err
