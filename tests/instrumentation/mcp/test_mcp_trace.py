"""One trace across two processes: the real mcp client (mcp_tool_client.py) and a real MCP
server (mcp_tool_server.py), each in a subprocess, over stdio and over streamable HTTP on
127.0.0.1, llmtrace on both sides, each process exporting its spans to its own JSON-lines
file that the test reads back."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from llmtrace.instrumentation.mcp._instrumentor import mcp_major
from tests.support import SUPPORT, subprocess_env
from tests.support.mcp_span_file import read_spans

SERVER = SUPPORT / "mcp_tool_server.py"
CLIENT = SUPPORT / "mcp_tool_client.py"
MAJOR = mcp_major()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_EXPORTER")}
    env["LLMTRACE_RAISE_INTERNAL_ERRORS"] = "1"
    return subprocess_env(env)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_client(tmp_path: Path, transport: str, target: str) -> tuple[Path, dict[str, Any]]:
    """Run mcp_tool_client.py; its spans file and what it printed."""
    spans = tmp_path / "client.jsonl"
    done = subprocess.run(
        [sys.executable, str(CLIENT), str(spans), transport, target],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return spans, json.loads(done.stdout.strip().splitlines()[-1])


def _tool_spans(spans: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for span in spans:
        attrs = span["attributes"]
        if span["kind"] == kind and attrs.get("mcp.method.name") == "tools/call":
            tool = attrs["gen_ai.tool.name"]
            assert tool not in found, f"two {kind} spans for {tool}: {spans}"
            found[tool] = span
    return found


def _check_one_trace(client_file: Path, server_file: Path, transport: str) -> None:
    client = read_spans(client_file)
    server = read_spans(server_file)
    root = next(s for s in client if s["name"] == "invoke_agent agent step")
    calls = _tool_spans(client, "CLIENT")
    handlers = _tool_spans(server, "SERVER")
    assert sorted(calls) == sorted(handlers) == ["add", "boom"]
    for tool in ("add", "boom"):
        call, handler = calls[tool], handlers[tool]
        assert call["trace_id"] == handler["trace_id"] == root["trace_id"]
        assert call["parent_span_id"] == root["span_id"]
        assert handler["parent_span_id"] == call["span_id"]
        assert handler["name"] == f"tools/call {tool}"
        assert handler["service"] == "mcp-tool-server"
        assert handler["attributes"]["gen_ai.operation.name"] == "execute_tool"
        assert call["attributes"]["gen_ai.operation.name"] == "execute_tool"
        # mcp 2.x: the SDK's own spans, renamed and completed by llmtrace
        assert call["name"] == f"tools/call {tool}"
        assert call["attributes"]["network.transport"] == transport
        assert handler["attributes"]["network.transport"] == transport
    inner = next(s for s in server if s["name"] == "inner work")
    assert inner["trace_id"] == root["trace_id"]
    assert inner["parent_span_id"] == handlers["add"]["span_id"]
    assert calls["add"]["status"] != "ERROR" and handlers["add"]["status"] != "ERROR"
    assert calls["boom"]["status"] == "ERROR" and handlers["boom"]["status"] == "ERROR"
    assert calls["boom"]["attributes"]["error.type"] == "tool_error"
    assert handlers["boom"]["attributes"]["error.type"]
    # Listing calls are not llmtrace spans.
    assert not [s for s in client if s["scope"] == "llmtrace" and "tools/list" in s["name"]]


def test_stdio_one_trace_across_processes(tmp_path: Path) -> None:
    server_file = tmp_path / "server.jsonl"
    client_file, outcome = _run_client(tmp_path, "stdio", str(server_file))
    assert outcome["errors"] == [False, True]
    _check_one_trace(client_file, server_file, "pipe")


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60  # a readiness wait, not an assertion on speed
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"MCP server exited early: {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("MCP server did not start listening")


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[int, Path, subprocess.Popen[bytes]]]:
    port = _free_port()
    server_file = tmp_path / "server.jsonl"
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "http", str(server_file), str(port)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_listening(port, proc)
        yield port, server_file, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()


def test_streamable_http_one_trace_and_spans_kept_on_sigterm(
    tmp_path: Path, http_server: tuple[int, Path, subprocess.Popen[bytes]]
) -> None:
    port, server_file, proc = http_server
    client_file, outcome = _run_client(tmp_path, "http", f"http://127.0.0.1:{port}/mcp")
    assert outcome["errors"] == [False, True]
    # uvicorn turns SIGTERM into a clean exit, so llmtrace's exit hook flushes the batch.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    _check_one_trace(client_file, server_file, "tcp")
    calls = _tool_spans(read_spans(client_file), "CLIENT")
    handlers = _tool_spans(read_spans(server_file), "SERVER")
    attrs = calls["add"]["attributes"]
    assert attrs["server.address"] == "127.0.0.1" and attrs["server.port"] == port
    session_id = handlers["add"]["attributes"]["mcp.session.id"]
    assert session_id and handlers["add"]["attributes"]["client.address"] == "127.0.0.1"
    if MAJOR < 2:  # mcp 2.x's HTTP transport does not expose the session id to the client
        assert outcome["session_id"] == session_id == attrs["mcp.session.id"]
