"""Metrics against backends that take traces only, and against a dead collector (#17).

Phoenix answers ``/v1/metrics`` with 405 and MLflow with 404: llmtrace warns once,
naming the setting, and stops sending metrics there while traces keep flowing. A dead
collector costs one warning line on ``force_flush()``, never a traceback, and nothing
more at exit.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import llmtrace
from llmtrace._genai.lifecycle import LLMInvocation
from llmtrace._genai.tokens import Usage
from tests.support.reliability import refused_endpoint


class _Backend(ThreadingHTTPServer):
    daemon_threads = True
    metrics_status = 200

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Backend

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.requests[self.path] += 1
        status = self.server.metrics_status if self.path == "/v1/metrics" else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def backend() -> Iterator[_Backend]:
    server = _Backend()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def llm_call() -> None:
    inv = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o-mini")
    inv.start()
    inv.usage = Usage(input_tokens=10, output_tokens=5)
    inv.stop()


@pytest.mark.parametrize("status", [404, 405])
def test_a_trace_only_backend_gets_one_warning_and_no_more_metric_exports(
    backend: _Backend, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    backend.metrics_status = status
    llmtrace.init(endpoint=backend.endpoint, instrument=False)  # metrics on, the default
    for _ in range(3):
        llm_call()
        llmtrace.force_flush(timeout=10)
    assert llmtrace.shutdown(timeout=10)

    assert backend.requests["/v1/traces"] >= 1  # traces flow as before
    assert backend.requests["/v1/metrics"] == 1  # asked once; nothing exported after that
    warnings = [r for r in caplog.records if r.name == "llmtrace" and "metric" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert warnings[0].levelno == logging.WARNING
    assert "LLMTRACE_METRICS=false" in warnings[0].getMessage()
    assert f"HTTP {status}" in warnings[0].getMessage()
    exporter_errors = [
        r
        for r in caplog.records
        if r.name.startswith("opentelemetry") and r.levelno >= logging.ERROR
    ]
    assert not exporter_errors, [r.getMessage() for r in exporter_errors]


def test_a_collector_that_takes_metrics_still_gets_them(
    backend: _Backend, caplog: pytest.LogCaptureFixture
) -> None:
    llmtrace.init(endpoint=backend.endpoint, instrument=False)
    llm_call()
    assert llmtrace.force_flush(timeout=10)
    llm_call()
    assert llmtrace.shutdown(timeout=10)
    # The check, then the real exports (flush and shutdown).
    assert backend.requests["/v1/metrics"] >= 3
    assert not [r for r in caplog.records if r.name == "llmtrace" and r.levelno >= logging.WARNING]


DEAD_COLLECTOR_APP = """
    import sys
    import llmtrace
    from llmtrace._genai.lifecycle import LLMInvocation
    from llmtrace._genai.tokens import Usage

    # Metrics on (the default); exports take longer than the flush may wait.
    llmtrace.init(endpoint=sys.argv[1], instrument=False, shutdown_timeout=1.0)
    inv = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o-mini")
    inv.start()
    inv.usage = Usage(input_tokens=10, output_tokens=5)
    inv.stop()
    print("flushed:", llmtrace.force_flush(), flush=True)
    print("shut down:", llmtrace.shutdown(), flush=True)
"""


def test_a_dead_collector_costs_one_line_on_force_flush_and_no_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMTRACE_"))}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(DEAD_COLLECTOR_APP), refused_endpoint()],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "flushed: False" in result.stdout
    assert "Traceback" not in result.stderr
    assert "MetricsTimeoutError" not in result.stderr
    assert "shutdown can only be called once" not in result.stderr
    assert "already shutdown" not in result.stderr
    flush_lines = [line for line in result.stderr.splitlines() if "force_flush" in line]
    assert not flush_lines, result.stderr
    metric_lines = [line for line in result.stderr.splitlines() if "metrics were not" in line]
    assert 1 <= len(metric_lines) <= 2, result.stderr  # force_flush, then shutdown
