"""The MCP client the tests run in a subprocess, llmtrace on, spans to a JSON-lines file.

    python tests/support/mcp_tool_client.py SPANS stdio SERVER_SPANS
    python tests/support/mcp_tool_client.py SPANS http URL

(with the repository root on ``PYTHONPATH``, see ``tests.support.subprocess_env``)

SPANS: a JSON-lines file, or ``otlp=ENDPOINT|PROJECT`` (see mcp_span_file.py).

Under an ``invoke_agent`` span it calls ``add`` and ``boom`` (after ``list_tools``), then
prints one JSON line: the two results' error flags and the HTTP session id. A process of
its own, because mcp 2.x binds its tracer to the first global provider of the process.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import llmtrace
from tests.support.mcp_span_file import init_llmtrace

SERVER = Path(__file__).with_name("mcp_tool_server.py")


def _is_error(result: Any) -> Any:
    flag = getattr(result, "isError", None)
    return result.is_error if flag is None else flag


async def _calls(session: Any) -> list[Any]:
    await session.initialize()
    await session.list_tools()
    with llmtrace.span("agent step", kind="agent"):
        ok = await session.call_tool("add", {"a": 2, "b": 3})
        bad = await session.call_tool("boom", {})
    return [_is_error(ok), _is_error(bad)]


async def stdio(server_spans: str) -> dict[str, Any]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable, args=[str(SERVER), "stdio", server_spans], env=dict(os.environ)
    )
    async with stdio_client(params) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            return {"errors": await _calls(session), "session_id": None}


async def http(url: str) -> dict[str, Any]:
    from mcp import ClientSession
    from mcp.client import streamable_http

    connect = getattr(streamable_http, "streamable_http_client", None)
    if connect is None:  # mcp < 1.24
        connect = streamable_http.streamablehttp_client
    async with connect(url) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            errors = await _calls(session)
            session_id = streams[2]() if len(streams) > 2 else None
    return {"errors": errors, "session_id": session_id}


def main() -> None:
    spans_file, transport, target = sys.argv[1], sys.argv[2], sys.argv[3]
    init_llmtrace(spans_file, "mcp-test-client")
    outcome = asyncio.run(stdio(target) if transport == "stdio" else http(target))
    llmtrace.shutdown()
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
