"""Pure mapping for MCP tool calls: request, result and transport -> span attributes.

Nothing here touches a span or the network, so every rule is testable on plain data.
The keys and values are those of the MCP conventions (semantic-conventions-genai,
``docs/gen-ai/mcp.md``): span name ``tools/call {tool}``, ``mcp.method.name``,
``gen_ai.operation.name=execute_tool``, ``gen_ai.tool.name``, ``network.transport``
(``pipe`` for stdio, ``tcp`` for HTTP), ``mcp.session.id``, ``server.address`` /
``server.port`` on the client, ``client.address`` / ``client.port`` on the server, and
``error.type`` (``tool_error`` for an ``isError`` result, the JSON-RPC error code for a
protocol error, else the exception's type).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ... import semconv

# The W3C trace-context keys the conventions carry in ``params._meta``.
TRACE_KEYS = ("traceparent", "tracestate")


@dataclass(frozen=True, slots=True)
class Transport:
    """What the client knows about the connection a session runs over."""

    network_transport: str
    address: str | None = None
    port: int | None = None
    session_id: Any = None  # the transport's ``get_session_id`` callable, if any


STDIO = Transport(semconv.NETWORK_TRANSPORT_PIPE)


def http_transport(url: Any, get_session_id: Any = None) -> Transport:
    """The transport of a streamable HTTP client connected to ``url``."""
    address: str | None = None
    port: int | None = None
    if isinstance(url, str):
        parts = urlsplit(url)
        address = parts.hostname
        try:
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        except ValueError:  # a malformed port: leave it out
            port = None
    return Transport(semconv.NETWORK_TRANSPORT_TCP, address, port, get_session_id)


def span_name(tool: str | None) -> str:
    """``tools/call {tool}``, or the method alone when the tool name is unknown."""
    return f"{semconv.MCP_TOOLS_CALL} {tool}" if tool else semconv.MCP_TOOLS_CALL


def tool_attributes(tool: str | None) -> dict[str, Any]:
    """The attributes every tool-call span carries, on either side."""
    attributes: dict[str, Any] = {
        semconv.MCP_METHOD_NAME: semconv.MCP_TOOLS_CALL,
        semconv.GEN_AI_OPERATION_NAME: semconv.OP_EXECUTE_TOOL,
    }
    if tool:
        attributes[semconv.GEN_AI_TOOL_NAME] = tool
    return attributes


def client_transport_attributes(transport: Transport | None) -> dict[str, Any]:
    """``network.transport``, ``server.address``/``port`` and ``mcp.session.id`` if known."""
    if transport is None:
        return {}
    attributes: dict[str, Any] = {semconv.NETWORK_TRANSPORT: transport.network_transport}
    if transport.address:
        attributes[semconv.SERVER_ADDRESS] = transport.address
    if transport.port:
        attributes[semconv.SERVER_PORT] = transport.port
    if transport.network_transport == semconv.NETWORK_TRANSPORT_TCP:
        attributes[semconv.NETWORK_PROTOCOL_NAME] = "http"
    if callable(transport.session_id):
        session_id = transport.session_id()
        if isinstance(session_id, str) and session_id:
            attributes[semconv.MCP_SESSION_ID] = session_id
    return attributes


def server_transport_attributes(request: Any) -> dict[str, Any]:
    """The server side: ``request`` is the HTTP request (Starlette) or None over stdio."""
    if request is None:
        return {semconv.NETWORK_TRANSPORT: semconv.NETWORK_TRANSPORT_PIPE}
    attributes: dict[str, Any] = {
        semconv.NETWORK_TRANSPORT: semconv.NETWORK_TRANSPORT_TCP,
        semconv.NETWORK_PROTOCOL_NAME: "http",
    }
    headers = getattr(request, "headers", None)
    if headers is not None:
        session_id = headers.get("mcp-session-id")
        if isinstance(session_id, str) and session_id:
            attributes[semconv.MCP_SESSION_ID] = session_id
    client = getattr(request, "client", None)
    if client is not None:
        host, port = getattr(client, "host", None), getattr(client, "port", None)
        if isinstance(host, str) and host:
            attributes[semconv.CLIENT_ADDRESS] = host
        if isinstance(port, int):
            attributes[semconv.CLIENT_PORT] = port
    return attributes


def result_error(result: Any) -> str | None:
    """``tool_error`` when a tool result says ``isError``, else None."""
    if isinstance(result, Mapping):
        flag = result.get("isError")
    else:
        flag = getattr(result, "isError", None)
        if flag is None:
            flag = getattr(result, "is_error", None)
    return semconv.MCP_ERROR_TOOL if flag is True else None


def protocol_error_code(exc: BaseException) -> int | None:
    """The JSON-RPC error code of an MCP protocol error (``McpError.error.code``), else None."""
    code = getattr(getattr(exc, "error", None), "code", None)
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def carrier_of(meta: Any) -> dict[str, str]:
    """The trace-context entries of a request's ``_meta`` (a dict or the SDK's Meta model)."""
    if meta is None:
        return {}
    if isinstance(meta, Mapping):
        source: Mapping[str, Any] = meta
    else:
        extra = getattr(meta, "model_extra", None)
        source = extra if isinstance(extra, Mapping) else {}
    return {key: source[key] for key in TRACE_KEYS if isinstance(source.get(key), str)}


def meta_with(meta: Any, carrier: Mapping[str, str]) -> dict[str, Any] | None:
    """The caller's ``meta`` (a dict or None) with the trace-context entries set; None if
    it is of a kind we do not change."""
    if meta is None:
        return dict(carrier)
    if isinstance(meta, Mapping):
        return {**meta, **carrier}
    return None
