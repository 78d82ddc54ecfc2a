"""The pure mapping of tool calls to attributes (no SDK, no network)."""

from __future__ import annotations

from types import SimpleNamespace

from llmtrace.instrumentation.mcp import _attributes as attrs


def test_http_transport_from_url() -> None:
    t = attrs.http_transport("https://tools.example.com/mcp", lambda: "s-1")
    assert attrs.client_transport_attributes(t) == {
        "network.transport": "tcp",
        "network.protocol.name": "http",
        "server.address": "tools.example.com",
        "server.port": 443,
        "mcp.session.id": "s-1",
    }
    bad = attrs.http_transport("http://host:notaport/mcp")
    assert bad.address == "host" and bad.port is None
    assert attrs.client_transport_attributes(attrs.STDIO) == {"network.transport": "pipe"}
    assert attrs.client_transport_attributes(None) == {}


def test_session_id_before_the_server_gave_one_is_left_out() -> None:
    t = attrs.http_transport("http://127.0.0.1:8000/mcp", lambda: None)
    assert "mcp.session.id" not in attrs.client_transport_attributes(t)


def test_server_transport() -> None:
    assert attrs.server_transport_attributes(None) == {"network.transport": "pipe"}
    request = SimpleNamespace(
        headers={"mcp-session-id": "abc"}, client=SimpleNamespace(host="10.0.0.2", port=5123)
    )
    assert attrs.server_transport_attributes(request) == {
        "network.transport": "tcp",
        "network.protocol.name": "http",
        "mcp.session.id": "abc",
        "client.address": "10.0.0.2",
        "client.port": 5123,
    }


def test_result_errors() -> None:
    assert attrs.result_error({"isError": True}) == "tool_error"
    assert attrs.result_error({"isError": "true"}) is None  # only a real bool counts
    assert attrs.result_error(SimpleNamespace(isError=True)) == "tool_error"
    assert attrs.result_error(SimpleNamespace(is_error=True)) == "tool_error"
    assert attrs.result_error(SimpleNamespace(isError=False)) is None
    assert attrs.result_error(None) is None


def test_protocol_error_code() -> None:
    exc = RuntimeError("x")
    exc.error = SimpleNamespace(code=-32602)  # type: ignore[attr-defined]
    assert attrs.protocol_error_code(exc) == -32602
    assert attrs.protocol_error_code(ValueError("y")) is None


def test_carrier_and_meta() -> None:
    meta = SimpleNamespace(model_extra={"traceparent": "00-a-b-01", "other": 1})
    assert attrs.carrier_of(meta) == {"traceparent": "00-a-b-01"}
    assert attrs.carrier_of({"tracestate": "k=v", "traceparent": 5}) == {"tracestate": "k=v"}
    assert attrs.carrier_of(None) == {}
    carrier = {"traceparent": "00-a-b-01"}
    assert attrs.meta_with(None, carrier) == carrier
    assert attrs.meta_with({"progressToken": 1}, carrier) == {"progressToken": 1, **carrier}
    assert attrs.meta_with(object(), carrier) is None
    assert attrs.span_name("add") == "tools/call add" and attrs.span_name(None) == "tools/call"
