"""End to end: one MCP tool call, client and server in two processes (tests/support's scripts,
over stdio), both exporting over OTLP/HTTP into the same real Phoenix project; the trace
read back from Phoenix spans both processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support import SUPPORT, subprocess_env
from tests.support.phoenix_server import Phoenix, children, find, unique_project

pytest.importorskip("mcp")

pytestmark = pytest.mark.e2e


def test_mcp_call_is_one_trace_in_phoenix(phoenix: Phoenix) -> None:
    project = unique_project("mcp")
    target = f"otlp={phoenix.http_endpoint}|{project}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["LLMTRACE_RAISE_INTERNAL_ERRORS"] = "1"
    done = subprocess.run(
        [sys.executable, str(SUPPORT / "mcp_tool_client.py"), target, "stdio", target],
        env=subprocess_env(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["errors"] == [False, True]

    # client: agent step + 2 tool calls; server: 2 tool calls + the tool's own span
    spans = phoenix.spans(project, min_count=6, timeout=60)
    root = find(spans, "invoke_agent agent step")
    calls = [s for s in children(spans, root) if s["name"].startswith("tools/call ")]
    assert sorted(s["name"] for s in calls) == ["tools/call add", "tools/call boom"]
    for call in calls:
        (handler,) = children(spans, call)  # one server span per call, nothing doubled
        assert handler["name"] == call["name"]
        assert handler["trace_id"] == call["trace_id"] == root["trace_id"]
        assert handler["attributes"]["gen_ai.operation.name"] == "execute_tool"
        if call["name"] == "tools/call boom":
            assert call["status"]["code"] == handler["status"]["code"] == "ERROR"
            assert call["attributes"]["error.type"] == "tool_error"
        else:
            (inner,) = children(spans, handler)
            assert inner["name"] == "inner work"
