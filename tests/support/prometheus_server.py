"""A real Prometheus for the metrics tests: start/stop through ``.ci/prometheus.sh``, scrape
targets through file service discovery, queries through the HTTP API.

``PrometheusServer.scrape(job, port)`` makes Prometheus scrape ``127.0.0.1:<port>`` with
``job=<job>`` until the block ends; ``query()`` evaluates PromQL now; ``wait_for()`` polls
a query until it has the expected value (Prometheus scrapes every second).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".ci" / "prometheus.sh"
ALERTS = REPO / "examples" / "prometheus" / "alerts.yml"
PROMETHEUS_CONFIG = REPO / "examples" / "prometheus" / "prometheus.yml"
DASHBOARD = REPO / "examples" / "grafana" / "llmtrace-dashboard.json"
COMPOSE = REPO / "examples" / "grafana" / "docker-compose.yml"


def prometheus_binary() -> str | None:
    """``LLMTRACE_PROMETHEUS_BIN``, else ``prometheus`` on PATH."""
    configured = os.environ.get("LLMTRACE_PROMETHEUS_BIN", "").strip()
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("prometheus")


def promtool_binary() -> str | None:
    """``promtool`` beside the Prometheus binary, else on PATH."""
    binary = prometheus_binary()
    if binary:
        beside = Path(binary).with_name("promtool")
        if os.access(beside, os.X_OK):
            return str(beside)
    return shutil.which("promtool")


_TRUE = ("1", "true", "yes", "on")


def unavailable(reason: str) -> None:
    """Skip, except under CI (``CI`` is true), where the tests must run."""
    import pytest

    if os.environ.get("CI", "").strip().lower() in _TRUE:
        pytest.fail(f"the Prometheus tests must run under CI, but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class PrometheusServer:
    url: str
    targets: Path
    last_time: float | None = None

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as reply:
            body = json.load(reply)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        """The instant vector of ``promql`` evaluated now or at time ``at`` ([]: no data)."""
        params = {"query": promql} if at is None else {"query": promql, "time": repr(at)}
        data = self.api("query", **params)
        assert data["resultType"] == "vector", data
        self.last_time = float(data["result"][0]["value"][0]) if data["result"] else None
        return list(data["result"])

    def value(self, promql: str, at: float | None = None) -> float | None:
        """The single value of ``promql`` (an aggregation), None without data."""
        result = self.query(promql, at)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def wait_for(self, promql: str, expected: float, timeout: float = 60.0) -> float | None:
        """Poll ``promql`` until it equals ``expected`` (to float precision) or the timeout
        passes; the last value seen (the caller asserts on it). ``last_time`` is then the
        evaluation time of that value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.value(promql)
            if value is not None and math.isclose(value, expected, rel_tol=1e-12):
                return value
            if time.monotonic() > deadline:
                return value
            time.sleep(0.2)

    def wait_until_up(self, job: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.value(f'up{{job="{job}"}}') == 1.0:
                return
            time.sleep(0.2)
        raise AssertionError(f"Prometheus never scraped job {job!r}: {self.api('targets')}")

    @contextlib.contextmanager
    def scrape(self, job: str, port: int) -> Iterator[None]:
        """Make Prometheus scrape 127.0.0.1:<port> as ``job`` during the block."""
        target = self.targets / f"{job}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps([{"targets": [f"127.0.0.1:{port}"], "labels": {"job": job}}]))
        tmp.rename(target)  # atomic: Prometheus never reads half a file
        try:
            yield
        finally:
            target.unlink(missing_ok=True)


class StartedPrometheus:
    """A Prometheus this test session started with ``.ci/prometheus.sh`` (stopped by close)."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.workdir = workdir
        env = {**os.environ, "PROMETHEUS_BIN": binary}
        subprocess.run(["bash", str(SCRIPT), "start", str(workdir)], check=True, env=env)
        values = {}
        for line in (workdir / "prometheus.env").read_text().splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            values[key] = value
        self.server = PrometheusServer(
            values["LLMTRACE_PROMETHEUS_URL"], Path(values["LLMTRACE_PROMETHEUS_TARGETS"])
        )

    def close(self) -> None:
        subprocess.run(["bash", str(SCRIPT), "stop", str(self.workdir)], check=False)
