"""The opt-in on-disk spool: spans survive a collector outage, also across an app restart,
and arrive exactly once; the spool stays within its size cap and survives crashes.

The collector is a real OTLP/HTTP receiver on 127.0.0.1 that is stopped and started on
the same port; the app is a real process that exits normally while the collector is down.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

import llmtrace
from llmtrace._spool import Spool, decode
from llmtrace.testing import capture_spans
from tests.support.reliability import Figures, OTLPHttpCollector, free_port, init_export

APP = textwrap.dedent(
    """
    import json, sys
    import llmtrace

    endpoint, spool_dir, run, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    handle = llmtrace.init(endpoint=endpoint, spool_dir=spool_dir, service_name="spool",
                           instrument=False, export_timeout=1.0, shutdown_timeout=2.0)
    for i in range(count):
        with llmtrace.span(f"{run}-{i}"):
            pass
    print(json.dumps({"spool_dir": handle.settings.spool_dir}), flush=True)
    """
)


def _run_app(
    endpoint: str, spool_dir: Path, run: str, count: int
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMTRACE_"))}
    process = subprocess.run(
        [sys.executable, "-c", APP, endpoint, str(spool_dir), run, str(count)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert "Traceback" not in process.stderr, process.stderr
    return process


def _spooled(spool_dir: Path) -> list[Path]:
    return sorted(spool_dir.glob("*.otlp"))


def _span_names(paths: list[Path]) -> list[str]:
    return [span.name for path in paths for span in decode(path.read_bytes())]


def test_spans_of_an_app_that_exits_while_the_collector_is_down_arrive_once_after_restart(
    tmp_path: Path,
) -> None:
    spool_dir = tmp_path / "spool"
    collector = OTLPHttpCollector(port=free_port())  # not started: the port refuses
    down = _run_app(collector.endpoint, spool_dir, "down", 30)
    assert "written to the spool" in down.stderr or _spooled(spool_dir)
    assert sorted(_span_names(_spooled(spool_dir))) == sorted(f"down-{i}" for i in range(30))

    with collector:  # the collector is back; the app starts again
        _run_app(collector.endpoint, spool_dir, "up", 5)
        assert collector.wait_for_spans(35)
    names = collector.received.span_names
    expected = [f"down-{i}" for i in range(30)] + [f"up-{i}" for i in range(5)]
    assert sorted(names) == sorted(expected)  # every span, each exactly once
    assert max(Counter(names).values()) == 1
    assert _spooled(spool_dir) == []
    Figures.record("spool.restart.delivered", len(names))


def test_spans_spooled_during_an_outage_are_sent_once_when_the_collector_is_back(
    tmp_path: Path,
) -> None:
    collector = OTLPHttpCollector(port=free_port())
    handle = init_export(collector.endpoint, spool_dir=str(tmp_path), export_timeout=0.5)
    try:
        for i in range(20):
            with llmtrace.span(f"outage-{i}"):
                pass
        assert llmtrace.force_flush(timeout=10) is False  # not delivered: spooled
        assert handle.spooled_spans == 20
        assert handle.failed_spans == 0 and handle.dropped_spans == 0
        collector.start()
        for i in range(5):
            with llmtrace.span(f"back-{i}"):
                pass
        assert llmtrace.force_flush(timeout=10) is True
        assert collector.wait_for_spans(25)
        names = collector.received.span_names
        assert sorted(names) == sorted(
            [f"outage-{i}" for i in range(20)] + [f"back-{i}" for i in range(5)]
        )
        assert handle.exported_spans == 25
        assert list(tmp_path.glob("*.otlp")) == []
    finally:
        llmtrace.shutdown()
        collector.stop()


def _batch(count: int, prefix: str = "s") -> list[object]:
    with capture_spans() as captured:
        for i in range(count):
            with llmtrace.span(f"{prefix}-{i}", attributes={"pad": "x" * 200}):
                pass
    return list(captured.spans)


def test_the_spool_keeps_within_its_cap_dropping_the_oldest_and_counting_them(
    tmp_path: Path,
) -> None:
    one = Spool(tmp_path, max_bytes=10**9)
    one.put(_batch(10))  # type: ignore[arg-type]
    size = next(tmp_path.glob("*.otlp")).stat().st_size
    next(tmp_path.glob("*.otlp")).unlink()
    spool = Spool(tmp_path, max_bytes=5 * size + size // 2)
    dropped = 0
    for n in range(12):
        dropped += spool.put(_batch(10, f"b{n}"))  # type: ignore[arg-type]
    files = _spooled(tmp_path)
    assert len(files) == 5
    assert sum(path.stat().st_size for path in files) <= spool.max_bytes
    assert dropped == 70  # the 7 oldest batches of 10 spans
    assert {name.split("-")[0] for name in _span_names(files)} == {f"b{n}" for n in range(7, 12)}


def test_a_crash_leaves_no_half_batch_and_a_dead_claim_is_sent_again(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10**9)
    spool.put(_batch(3, "claimed"))  # type: ignore[arg-type]
    (path,) = _spooled(tmp_path)
    dead = 2**22 + 12345  # above the default pid_max: no such process
    path.rename(path.with_name(path.name + f".{dead}.claim"))  # a sender that died mid-send
    half = tmp_path / ".tmp-00000000000000000001-1-000001-3.otlp"
    half.write_bytes(b"\x0a\x05half")  # a writer that died before its atomic rename
    os.utime(half, (0, 0))

    restarted = Spool(tmp_path, max_bytes=10**9)
    assert not half.exists()
    sent: list[str] = []

    def export(spans: object) -> object:
        from opentelemetry.sdk.trace.export import SpanExportResult

        sent.extend(span.name for span in spans)  # type: ignore[attr-defined]
        return SpanExportResult.SUCCESS

    assert restarted.replay(export) == (3, True)
    assert sorted(sent) == ["claimed-0", "claimed-1", "claimed-2"]
    assert list(tmp_path.iterdir()) == []


def test_a_spooled_span_is_the_span_that_was_made(tmp_path: Path) -> None:
    batch = _batch(2, "same")
    Spool(tmp_path, max_bytes=10**9).put(batch)  # type: ignore[arg-type]
    (path,) = _spooled(tmp_path)
    restored = decode(path.read_bytes())
    for before, after in zip(batch, restored, strict=True):
        assert after.name == before.name  # type: ignore[attr-defined]
        assert after.context.trace_id == before.context.trace_id  # type: ignore[attr-defined]
        assert after.context.span_id == before.context.span_id  # type: ignore[attr-defined]
        assert after.start_time == before.start_time  # type: ignore[attr-defined]
        assert after.end_time == before.end_time  # type: ignore[attr-defined]
        assert dict(after.attributes or {}) == dict(before.attributes or {})  # type: ignore[attr-defined]


def test_an_unusable_spool_directory_argument_fails_init_clearly(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(llmtrace.ConfigurationError, match="spool_dir"):
        llmtrace.init(endpoint="http://127.0.0.1:9", spool_dir=str(blocker / "spool"))
    assert llmtrace._setup.active() is None


def test_an_unusable_spool_directory_variable_warns_and_spooling_is_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("LLMTRACE_SPOOL_DIR", str(blocker / "spool"))
    handle = init_export(f"http://127.0.0.1:{free_port()}")
    assert handle.enabled
    assert sum("LLMTRACE_SPOOL_DIR" in r.getMessage() for r in caplog.records) == 1
    assert handle.spooled_spans == 0
    assert not (blocker / "spool").exists()


def test_a_claim_left_under_this_pid_by_a_previous_run_is_sent_again(tmp_path: Path) -> None:
    # In a container the app is often pid 1 at every start: the previous run's claim
    # carries the pid this process has now.
    Spool(tmp_path, max_bytes=10**9).put(_batch(2, "pid1"))  # type: ignore[arg-type]
    (path,) = _spooled(tmp_path)
    path.rename(path.with_name(path.name + f".{os.getpid()}.claim"))
    assert _spooled(Spool(tmp_path, max_bytes=10**9).directory) == [path]


def test_a_failed_export_spools_its_batch_without_resending_it_at_once(tmp_path: Path) -> None:
    # The export just failed: the collector is down. Sending the spool straight away would
    # fail again, and an app exiting meanwhile would leave its batch claimed, not spooled.
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    from llmtrace._export_processor import ExportProcessor

    class Down(SpanExporter):
        calls = 0

        def export(self, spans: object) -> SpanExportResult:
            Down.calls += 1
            return SpanExportResult.FAILURE

    processor = ExportProcessor(Down(), spool=Spool(tmp_path, max_bytes=10**9))
    try:
        for span in _batch(3, "down"):
            processor.on_end(span)  # type: ignore[arg-type]
        assert processor.force_flush(timeout_millis=10_000) is False
        assert Down.calls == 1
        assert sorted(_span_names(_spooled(tmp_path))) == ["down-0", "down-1", "down-2"]
        assert processor.spooled == 3
    finally:
        processor.stop(timeout_s=5)
