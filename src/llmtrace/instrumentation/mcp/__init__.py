"""Auto-instrumentation of the official MCP Python SDK (``mcp``): tool calls across processes.

    import llmtrace
    llmtrace.init()                   # instruments mcp when it is installed, client and server
    # or explicitly:
    from llmtrace.instrumentation.mcp import instrument_mcp, uninstrument_mcp
    instrument_mcp()                  # idempotent
    ...
    uninstrument_mcp()                # originals restored

mcp 1.x: ``ClientSession.call_tool`` is one CLIENT span ``tools/call {tool}`` whose W3C
context travels in the request's ``params._meta``; on the server, the tool handler runs
in a SERVER span continuing that trace. mcp 2.x emits both spans itself (through the
global tracer provider that ``init()`` installs) and carries the context already, so
llmtrace adds no span of its own there: one client span and one server span per call,
never two. Listing calls (``list_tools``, ...) get no llmtrace span. Also available to
OpenTelemetry's auto-instrumentation as the ``llmtrace_mcp`` ``opentelemetry_instrumentor``
entry point (``MCPInstrumentor``); see docs/mcp.md.
"""

from __future__ import annotations

from .. import switches
from ._instrumentor import MCPInstrumentor

__all__ = ["MCPInstrumentor", "instrument_mcp", "is_instrumented", "uninstrument_mcp"]


instrument_mcp, uninstrument_mcp, is_instrumented = switches(
    __name__, MCPInstrumentor, "the mcp SDK (client and server)"
)
