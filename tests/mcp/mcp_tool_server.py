"""The MCP server the tests start in a subprocess, llmtrace on, spans to a JSON-lines file.

    python mcp_tool_server.py stdio SPANS_FILE
    python mcp_tool_server.py http SPANS_FILE PORT      # streamable HTTP on 127.0.0.1:PORT

Tools: ``add(a, b)`` (opens a span of its own inside the handler, as an LLM call would),
``boom()`` (raises: an ``isError`` result). Runs on mcp 1.x (FastMCP) and 2.x (MCPServer).
"""

from __future__ import annotations

import signal
import sys

import llmtrace
from mcp_span_file import JsonLinesExporter


def build(port: int) -> object:
    try:
        from mcp.server.fastmcp import FastMCP as Server  # mcp 1.x
    except ImportError:
        from mcp.server.mcpserver import MCPServer as Server  # type: ignore[no-redef]  # mcp 2.x

    try:
        server = Server("llmtrace-test", host="127.0.0.1", port=port)
    except TypeError:  # 2.x takes host/port at run()
        server = Server("llmtrace-test")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        with llmtrace.span("inner work", kind="task"):
            return a + b

    @server.tool()
    def boom() -> str:
        """Always fails."""
        raise ValueError("boom")

    return server


def main() -> None:
    transport, spans_file = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    # Instrument before the server registers its tools (docs/mcp.md).
    llmtrace.init(exporter=JsonLinesExporter(spans_file), service_name="mcp-tool-server")
    server = build(port)
    if transport == "stdio":
        server.run(transport="stdio")  # type: ignore[attr-defined]
    else:
        # uvicorn catches SIGTERM, shuts down gracefully, restores this handler and raises
        # SIGTERM again: this handler turns it into a normal exit, so llmtrace's exit hook
        # flushes the last spans (without it the default action kills the process first).
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            server.run(transport="streamable-http")  # type: ignore[attr-defined]
        except TypeError:
            server.run(transport="streamable-http", host="127.0.0.1", port=port)  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
