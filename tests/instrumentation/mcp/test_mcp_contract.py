"""In-process contracts of the mcp instrumentation (mcp 1.x, where llmtrace opens the spans):
the real client and FastMCP server joined by the SDK's memory streams."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("mcp")

import llmtrace
from llmtrace.instrumentation.mcp import instrument_mcp, uninstrument_mcp
from llmtrace.instrumentation.mcp._instrumentor import mcp_major
from llmtrace.testing import SpanCapture

pytestmark = pytest.mark.skipif(mcp_major() >= 2, reason="mcp 2.x opens these spans itself")


@pytest.fixture
def instrumented() -> Iterator[None]:
    instrument_mcp()
    yield
    uninstrument_mcp()


def _server() -> object:
    from mcp.server.fastmcp import FastMCP

    server = FastMCP("contract")

    @server.tool()
    def echo(text: str) -> str:
        return text

    return server


async def _call(server: object, *names: str) -> list[object]:
    from mcp.shared.memory import create_connected_server_and_client_session

    results = []
    async with create_connected_server_and_client_session(server._mcp_server) as session:  # type: ignore[attr-defined]
        for name in names:
            results.append(await session.call_tool(name, {"text": "hi"}))
    return results


async def test_one_client_and_one_server_span_in_one_trace(
    instrumented: None, captured: SpanCapture
) -> None:
    (result,) = await _call(_server(), "echo")
    assert result.isError is False  # type: ignore[attr-defined]
    spans = [s for s in captured.spans if s.name == "tools/call echo"]
    kinds = sorted(s.kind.name for s in spans)
    assert kinds == ["CLIENT", "SERVER"]
    client = next(s for s in spans if s.kind.name == "CLIENT")
    server = next(s for s in spans if s.kind.name == "SERVER")
    assert server.parent is not None and server.parent.span_id == client.context.span_id
    assert server.context.trace_id == client.context.trace_id
    assert server.attributes["jsonrpc.request.id"]  # type: ignore[index]


async def test_unknown_tool_is_an_error_result(instrumented: None, captured: SpanCapture) -> None:
    (result,) = await _call(_server(), "nope")
    assert result.isError is True  # type: ignore[attr-defined]
    client = next(
        s for s in captured.spans if s.name == "tools/call nope" and s.kind.name == "CLIENT"
    )
    assert client.attributes["error.type"] == "tool_error"  # type: ignore[index]
    assert client.status.status_code.name == "ERROR"


async def test_caller_execute_tool_span_is_enriched_not_doubled(
    instrumented: None, captured: SpanCapture
) -> None:
    from llmtrace import semconv

    server = _server()
    with llmtrace.span("echo", kind="tool") as outer:
        outer.set_attribute(semconv.GEN_AI_OPERATION_NAME, semconv.OP_EXECUTE_TOOL)
        await _call(server, "echo")
    clients = [s for s in captured.spans if s.kind.name == "CLIENT"]
    assert clients == []
    own = next(s for s in captured.spans if s.name.endswith("echo") and s.kind.name == "INTERNAL")
    assert own.attributes["mcp.method.name"] == "tools/call"  # type: ignore[index]
    handler = next(s for s in captured.spans if s.kind.name == "SERVER")
    assert handler.parent is not None and handler.parent.span_id == own.context.span_id


async def test_protocol_error_propagates_and_marks_the_span(
    instrumented: None, captured: SpanCapture
) -> None:
    from mcp.server.lowlevel import Server
    from mcp.shared.exceptions import McpError
    from mcp.shared.memory import create_connected_server_and_client_session

    server: Server[object, object] = Server("no-tools")  # no tools/call handler at all
    async with create_connected_server_and_client_session(server) as session:
        with pytest.raises(McpError) as raised:
            await session.call_tool("echo", {})
    client = next(s for s in captured.spans if s.kind.name == "CLIENT")
    assert client.name == "tools/call echo"
    assert client.attributes["error.type"] == str(raised.value.error.code)  # type: ignore[index]
    assert client.status.status_code.name == "ERROR"
