"""End to end: spans spooled while the collector is down reach Phoenix once, after a restart.

The first run of the app exports to a port nobody listens on (the collector is down) and
exits normally: its spans go to the spool (``spool_dir``). The second run, with the
collector (Phoenix) up, sends the spooled spans and its own; Phoenix's REST API must then
hold every span of both runs exactly once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from tests.support.phoenix_server import PROJECT_ATTRIBUTE, Phoenix, free_port, unique_project

pytestmark = pytest.mark.e2e

APP = textwrap.dedent(
    """
    import sys
    import llmtrace

    endpoint, spool_dir, run, count, attribute, project = sys.argv[1:7]
    llmtrace.init(endpoint=endpoint, spool_dir=spool_dir, instrument=False, metrics=False,
                  resource_attributes={attribute: project}, service_name="spool-e2e",
                  export_timeout=1.0, shutdown_timeout=2.0)
    for i in range(int(count)):
        with llmtrace.span(f"{run}-{i}"):
            pass
    """
)


def _run(endpoint: str, spool_dir: Path, run: str, count: int, project: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMTRACE_"))}
    args = [endpoint, str(spool_dir), run, str(count), PROJECT_ATTRIBUTE, project]
    process = subprocess.run(
        [sys.executable, "-c", APP, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert "Traceback" not in process.stderr, process.stderr


def test_spans_spooled_while_the_collector_was_down_arrive_once(
    phoenix: Phoenix, tmp_path: Path
) -> None:
    project = unique_project("spool")
    spool_dir = tmp_path / "spool"
    _run(f"http://127.0.0.1:{free_port()}", spool_dir, "down", 20, project)
    assert list(spool_dir.glob("*.otlp")), "the first run spooled nothing"

    _run(phoenix.http_endpoint, spool_dir, "up", 5, project)
    spans = phoenix.spans(project, min_count=25)
    counts = Counter(span["name"] for span in spans)
    expected = [f"down-{i}" for i in range(20)] + [f"up-{i}" for i in range(5)]
    assert sorted(counts) == sorted(expected)
    assert set(counts.values()) == {1}
    assert list(spool_dir.glob("*.otlp")) == []
