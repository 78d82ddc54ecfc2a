"""The client side: one CLIENT span per ``ClientSession.call_tool``, context in ``_meta``.

Per call: suppression check -> the span ``tools/call {tool}`` (or, when the caller is
already inside an ``execute_tool`` span of its own, that span, enriched instead of a
second one) -> its W3C context injected into the request's ``params._meta``
(``traceparent`` / ``tracestate``, the ``meta=`` argument of ``call_tool``) -> the real
call -> ``isError`` results and protocol errors marked with ``error.type``.

The transport functions (``stdio_client``, ``streamable_http_client``) are wrapped only
to learn what the session runs over: the streams they yield are remembered (weakly),
and a ``ClientSession`` built on them looks its transport up. A session built on other
streams still gets its span, without the network attributes.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from ... import semconv
from ..._errors import internal_errors
from ..._runtime import runtime
from ..._spans import record_error
from . import _attributes as attrs
from ._attributes import Transport

# Transports opened and not yet given to a session: id(write stream) -> (stream, transport).
# Some SDK streams cannot be weakly referenced, so the entry is taken out when a session
# is built on the stream, and the table is bounded for transports never used.
_STREAMS: dict[int, tuple[Any, Transport]] = {}
_STREAMS_LIMIT = 64
_SESSIONS: weakref.WeakKeyDictionary[Any, Transport] = weakref.WeakKeyDictionary()


def _remember(write_stream: Any, transport: Transport) -> None:
    while len(_STREAMS) >= _STREAMS_LIMIT:
        _STREAMS.pop(next(iter(_STREAMS)))
    _STREAMS[id(write_stream)] = (write_stream, transport)


def register_session(session: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """A ``ClientSession`` built with these arguments: look its transport up."""
    write_stream = args[1] if len(args) > 1 else kwargs.get("write_stream")
    entry = _STREAMS.get(id(write_stream)) if write_stream is not None else None
    if entry is not None and entry[0] is write_stream:
        del _STREAMS[id(write_stream)]
        _SESSIONS[session] = entry[1]


def transport_of(session: Any) -> Transport | None:
    return _SESSIONS.get(session)


class _TransportCM:
    """Wraps a transport's async context manager: remembers the streams it yields."""

    __slots__ = ("_cm", "_transport")

    def __init__(self, cm: Any, transport: Callable[[tuple[Any, ...]], Transport]) -> None:
        self._cm = cm
        self._transport = transport

    async def __aenter__(self) -> Any:
        streams = await self._cm.__aenter__()
        with internal_errors:
            if isinstance(streams, tuple) and len(streams) >= 2:
                _remember(streams[1], self._transport(streams))
        return streams

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self._cm.__aexit__(*exc_info)


def stdio_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``stdio_client(...)``: its streams are a ``pipe``."""
    return _TransportCM(wrapped(*args, **kwargs), lambda _streams: attrs.STDIO)


def http_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``streamable_http_client(url, ...)``: ``tcp`` to the URL's host, with a session id."""
    url = args[0] if args else kwargs.get("url")

    def transport(streams: tuple[Any, ...]) -> Transport:
        return attrs.http_transport(url, streams[2] if len(streams) > 2 else None)

    return _TransportCM(wrapped(*args, **kwargs), transport)


def session_init_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``ClientSession(read_stream, write_stream, ...)``: look its transport up."""
    result = wrapped(*args, **kwargs)
    with internal_errors:
        register_session(instance, args, kwargs)
    return result


def _adoptable(span: Span) -> bool:
    """True for a recording ``execute_tool`` span the caller opened around the call."""
    if not span.is_recording():
        return False
    attributes = getattr(span, "attributes", None)
    return (
        isinstance(attributes, Mapping)
        and attributes.get(semconv.GEN_AI_OPERATION_NAME) == semconv.OP_EXECUTE_TOOL
        and semconv.MCP_METHOD_NAME not in attributes
    )


class _ToolCall:
    """One traced ``call_tool``: the span, whether we own it, and the context token."""

    __slots__ = ("owned", "span", "token")

    def __init__(self, span: Span, owned: bool) -> None:
        self.span = span
        self.owned = owned
        self.token: object | None = None

    def failed(self, exc: BaseException) -> None:
        with internal_errors:
            self._detach()
            span = self.span
            if span.is_recording():
                code = attrs.protocol_error_code(exc)
                if code is not None:
                    span.set_attribute(semconv.ERROR_TYPE, str(code))
                    span.set_attribute(semconv.RPC_RESPONSE_STATUS_CODE, str(code))
                else:
                    span.set_attribute(semconv.ERROR_TYPE, type(exc).__qualname__)
                record_error(span, exc)
            if self.owned:
                span.end()

    def finished(self, result: Any) -> None:
        with internal_errors:
            self._detach()
            error = attrs.result_error(result)
            if error is not None and self.span.is_recording():
                self.span.set_attribute(semconv.ERROR_TYPE, error)
                self.span.set_status(Status(StatusCode.ERROR))
            if self.owned:
                self.span.end()

    def _detach(self) -> None:
        token, self.token = self.token, None
        if token is not None:
            otel_context.detach(token)  # type: ignore[arg-type]


class ClientPatch:
    """``call_tool``'s phases for ``async_shell`` (resolved once, at instrument time)."""

    def __init__(self, tracer: Tracer | None, can_inject: bool) -> None:
        self.tracer = tracer  # given to instrument(), else llmtrace's own (runtime.tracer())
        self.can_inject = can_inject  # call_tool takes ``meta=`` (mcp >= 1.13 or so)

    def prepare(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[_ToolCall, dict[str, Any]] | None:
        """The traced call and the kwargs to call with, or None to pass straight through."""
        with internal_errors:
            tool = args[0] if args else kwargs.get("name")
            tool = tool if isinstance(tool, str) else None
            ctx = otel_context.get_current()
            attributes = attrs.tool_attributes(tool)
            attributes.update(attrs.client_transport_attributes(transport_of(instance)))
            current = trace.get_current_span(ctx)
            if _adoptable(current):
                call = _ToolCall(current, owned=False)
                current.set_attributes(attributes)
            else:
                tracer = self.tracer or runtime.tracer()
                if tracer is None:
                    return None
                span = tracer.start_span(attrs.span_name(tool), ctx, SpanKind.CLIENT, attributes)
                call = _ToolCall(span, owned=True)
                ctx = trace.set_span_in_context(span, ctx)
            if self.can_inject:
                kwargs = self._with_context(kwargs, ctx)
            call.token = otel_context.attach(ctx)
            return call, kwargs
        return None

    @staticmethod
    def _with_context(kwargs: dict[str, Any], ctx: otel_context.Context) -> dict[str, Any]:
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=ctx)
        carrier = {k: v for k, v in carrier.items() if k in attrs.TRACE_KEYS}
        if not carrier:
            return kwargs
        meta = attrs.meta_with(kwargs.get("meta"), carrier)
        return kwargs if meta is None else {**kwargs, "meta": meta}

    # -- what the shell (llmtrace._genai.shells) calls ----------------------------------------
    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[_ToolCall, tuple[Any, ...], dict[str, Any]] | None:
        prepared = self.prepare(instance, args, kwargs)
        return None if prepared is None else (prepared[0], args, prepared[1])

    @staticmethod
    def failed(call: _ToolCall, exc: BaseException) -> None:
        call.failed(exc)

    @staticmethod
    def finished(call: _ToolCall, result: Any) -> Any:
        call.finished(result)
        return result
