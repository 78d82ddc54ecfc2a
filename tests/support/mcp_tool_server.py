"""The MCP server the tests start in a subprocess, llmtrace on, spans to a JSON-lines file.

    python tests/support/mcp_tool_server.py stdio SPANS
    python tests/support/mcp_tool_server.py http SPANS PORT   # streamable HTTP on 127.0.0.1:PORT

(with the repository root on ``PYTHONPATH``, see ``tests.support.subprocess_env``)

SPANS: a JSON-lines file, or ``otlp=ENDPOINT|PROJECT`` (see mcp_span_file.py).

Tools: ``add(a, b)`` (opens a span of its own inside the handler, as an LLM call would),
``boom()`` (raises: an ``isError`` result). Runs on mcp 1.x (FastMCP) and 2.x (MCPServer).
"""

from __future__ import annotations

import signal
import sys

import llmtrace
from tests.support.mcp_span_file import init_llmtrace


def build(port: int) -> tuple[object, dict[str, object]]:
    """The server and the keyword arguments its ``run()`` needs for HTTP."""
    try:
        from mcp.server.fastmcp import FastMCP  # mcp 1.x: host/port are settings
    except ImportError:
        from mcp.server.mcpserver import MCPServer  # mcp 2.x: host/port go to run()

        server: object = MCPServer("llmtrace-test")
        http_kwargs: dict[str, object] = {"host": "127.0.0.1", "port": port}
    else:
        server = FastMCP("llmtrace-test", host="127.0.0.1", port=port)
        http_kwargs = {}

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        with llmtrace.span("inner work", kind="task"):
            return a + b

    @server.tool()
    def boom() -> str:
        """Always fails."""
        raise ValueError("boom")

    return server, http_kwargs


def main() -> None:
    transport, spans_file = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    # Instrument before the server registers its tools (docs/mcp.md).
    init_llmtrace(spans_file, "mcp-tool-server")
    server, http_kwargs = build(port)
    if transport == "stdio":
        server.run(transport="stdio")  # type: ignore[attr-defined]
    else:
        # uvicorn catches SIGTERM, shuts down gracefully, restores this handler and raises
        # SIGTERM again: this handler turns it into a normal exit, so llmtrace's exit hook
        # flushes the last spans (without it the default action kills the process first).
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        server.run(transport="streamable-http", **http_kwargs)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
