"""One trace across two processes: the real mcp client here, a real MCP server in a
subprocess (stdio and streamable HTTP on 127.0.0.1), llmtrace on both sides, each
process exporting its spans to its own JSON-lines file that the test reads back."""

from __future__ import annotations

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

import llmtrace
from llmtrace.instrumentation.mcp._instrumentor import mcp_major

from mcp_span_file import JsonLinesExporter, read_spans

SERVER = Path(__file__).with_name("mcp_tool_server.py")
MAJOR = mcp_major()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_EXPORTER")}
    env["LLMTRACE_RAISE_INTERNAL_ERRORS"] = "1"
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def client_spans(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "client.jsonl"
    llmtrace.init(
        exporter=JsonLinesExporter(path), service_name="mcp-test-client", instrument=["mcp"]
    )
    yield path
    llmtrace.shutdown()


async def _calls(session: Any) -> tuple[Any, Any]:
    await session.initialize()
    await session.list_tools()
    with llmtrace.span("agent step", kind="agent"):
        ok = await session.call_tool("add", {"a": 2, "b": 3})
        bad = await session.call_tool("boom", {})
    return ok, bad


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
        if MAJOR < 2:
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


async def test_stdio_one_trace_across_processes(client_spans: Path, tmp_path: Path) -> None:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    server_file = tmp_path / "server.jsonl"
    params = StdioServerParameters(
        command=sys.executable, args=[str(SERVER), "stdio", str(server_file)], env=_env()
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        ok, bad = await _calls(session)
    assert ok.isError is False and bad.isError is True
    llmtrace.shutdown()
    _check_one_trace(client_spans, server_file, "pipe")


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


async def test_streamable_http_one_trace_and_spans_kept_on_sigterm(
    client_spans: Path, http_server: tuple[int, Path, subprocess.Popen[bytes]]
) -> None:
    from mcp import ClientSession
    from mcp.client import streamable_http

    port, server_file, proc = http_server
    connect = getattr(streamable_http, "streamable_http_client", None) or getattr(
        streamable_http, "streamablehttp_client"
    )
    async with connect(f"http://127.0.0.1:{port}/mcp") as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            ok, bad = await _calls(session)
            session_id = streams[2]() if len(streams) > 2 else None
    assert ok.isError is False and bad.isError is True
    llmtrace.shutdown()
    # uvicorn turns SIGTERM into a clean exit, so llmtrace's exit hook flushes the batch.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    _check_one_trace(client_spans, server_file, "tcp")
    if MAJOR < 2:
        calls = _tool_spans(read_spans(client_spans), "CLIENT")
        handlers = _tool_spans(read_spans(server_file), "SERVER")
        attrs = calls["add"]["attributes"]
        assert attrs["server.address"] == "127.0.0.1" and attrs["server.port"] == port
        assert session_id and attrs["mcp.session.id"] == session_id
        assert handlers["add"]["attributes"]["mcp.session.id"] == session_id
        assert handlers["add"]["attributes"]["client.address"] == "127.0.0.1"
