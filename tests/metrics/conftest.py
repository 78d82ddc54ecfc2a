"""The ``prometheus`` fixture: a real Prometheus server scraping the test process.

Where it comes from, in order:

1. ``LLMTRACE_PROMETHEUS_URL`` and ``LLMTRACE_PROMETHEUS_TARGETS`` (its file-discovery
   directory) name a running one, e.g. started by CI with ``.ci/prometheus.sh start``.
2. Otherwise a ``prometheus`` binary (``LLMTRACE_PROMETHEUS_BIN``, else on PATH; Debian's
   ``prometheus`` package, which ``.ci/prometheus.sh install`` installs) is started for
   the test session on a free loopback port and stopped at the end.
3. Otherwise the tests that need it are skipped, except under CI (``CI`` is true), where
   a missing Prometheus is a failure.

The local OpenAI-compatible server comes from ``tests/support/openai_server.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.openai_server import LocalServer
from tests.support.prometheus_server import (
    PrometheusServer,
    StartedPrometheus,
    prometheus_binary,
    unavailable,
)


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    url = os.environ.get("LLMTRACE_PROMETHEUS_URL", "").strip().rstrip("/")
    targets = os.environ.get("LLMTRACE_PROMETHEUS_TARGETS", "").strip()
    if url and targets:
        yield PrometheusServer(url, Path(targets))
        return
    binary = prometheus_binary()
    if binary is None:
        unavailable(
            "no Prometheus: set LLMTRACE_PROMETHEUS_URL and LLMTRACE_PROMETHEUS_TARGETS, or "
            "install one (.ci/prometheus.sh install) or point LLMTRACE_PROMETHEUS_BIN at it"
        )
    started = StartedPrometheus(str(binary), tmp_path_factory.mktemp("prometheus"))
    try:
        yield started.server
    finally:
        started.close()


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    try:
        yield server
    finally:
        server.close()
