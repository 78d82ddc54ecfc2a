"""mcp 2.x: the SDK's own spans, enriched instead of doubled.

mcp 2.x opens a CLIENT span per outgoing request (``MCP send tools/call {tool}``,
tracer ``mcp-python-sdk``) and a SERVER span per handled request (``tools/call {tool}``)
through the global tracer provider, and carries the W3C context in ``_meta`` itself.
llmtrace opens no span of its own there; it completes the SDK's:

- ``call_tool`` puts a ``NativeCall`` (the tool, the session's transport) in the
  context; ``NativeSpanEnricher`` (a span processor on the global provider) sees the
  SDK's CLIENT span start under it, renames it to the conventions' ``tools/call {tool}``
  and adds ``gen_ai.operation.name``, ``gen_ai.tool.name`` and the network attributes;
- an ``isError`` result is only known when the response arrives, while the SDK's span
  is still open: ``ResponseWatch`` (the session's read stream, proxied) marks the span
  when the response for that request id goes by;
- on the server, ``TransportMiddleware`` (appended to the public ``Server.middleware``
  list, inside the SDK's ``OpenTelemetryMiddleware``) adds the network attributes and
  the session id to the SDK's SERVER span.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.sdk.trace import Span as SDKSpan
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from ... import semconv
from ..._errors import internal_errors
from . import _attributes as attrs
from ._attributes import Transport

if TYPE_CHECKING:
    ObjectProxy = wrapt.ObjectProxy[Any]
else:
    ObjectProxy = wrapt.ObjectProxy

NATIVE_SCOPE = "mcp-python-sdk"
_CALL_KEY = otel_context.create_key("llmtrace.mcp.native_call")


class Switch:
    """Whether the enrichment is on (instrumented); the processor stays on the provider."""

    on = False


class NativeCall:
    """One ``call_tool`` on mcp 2.x: what the processor needs, and the span it found."""

    __slots__ = ("pending", "request_id", "tool", "transport")

    def __init__(
        self, tool: str | None, transport: Transport | None, pending: dict[str, Span] | None
    ) -> None:
        self.tool = tool
        self.transport = transport
        self.pending = pending  # the session's open tools/call spans by request id
        self.request_id: str | None = None

    def done(self) -> None:
        if self.pending is not None and self.request_id is not None:
            self.pending.pop(self.request_id, None)


class NativeSpanEnricher(SpanProcessor):
    """Completes the SDK's ``tools/call`` CLIENT span when it starts under a ``NativeCall``."""

    def on_start(self, span: SDKSpan, parent_context: otel_context.Context | None = None) -> None:
        if not Switch.on:
            return
        with internal_errors:
            scope = span.instrumentation_scope
            if scope is None or scope.name != NATIVE_SCOPE or span.kind is not SpanKind.CLIENT:
                return
            call = otel_context.get_value(_CALL_KEY, parent_context)
            span_attributes = span.attributes or {}
            if not isinstance(call, NativeCall):
                return
            if span_attributes.get(semconv.MCP_METHOD_NAME) != semconv.MCP_TOOLS_CALL:
                return
            span.update_name(attrs.span_name(call.tool))
            span.set_attributes(attrs.tool_attributes(call.tool))
            span.set_attributes(attrs.client_transport_attributes(call.transport))
            request_id = span_attributes.get(semconv.JSONRPC_REQUEST_ID)
            if call.pending is not None and isinstance(request_id, str):
                call.request_id = request_id
                call.pending[request_id] = span


_ENRICHED: weakref.WeakSet[Any] = weakref.WeakSet()


def add_enricher() -> None:
    """Put the enricher on the global provider (once per provider) and switch it on."""
    Switch.on = True
    with internal_errors:
        provider = trace.get_tracer_provider()
        if provider not in _ENRICHED and hasattr(provider, "add_span_processor"):
            provider.add_span_processor(NativeSpanEnricher())
            _ENRICHED.add(provider)


def _mark_error_response(item: Any, pending: dict[str, Span]) -> None:
    message = getattr(item, "message", None)
    request_id = getattr(message, "id", None)
    if request_id is None or not pending:
        return
    span = pending.pop(str(request_id), None)
    if span is None:
        return
    result = getattr(message, "result", None)
    error = attrs.result_error(result) if isinstance(result, Mapping) else None
    if error is not None and span.is_recording():
        span.set_attribute(semconv.ERROR_TYPE, error)
        span.set_status(Status(StatusCode.ERROR))


class ResponseWatch(ObjectProxy):
    """The session's read stream, unchanged, watching responses to pending tool calls."""

    def __init__(self, stream: Any, pending: dict[str, Span]) -> None:
        super().__init__(stream)
        self._self_pending = pending

    async def receive(self) -> Any:
        item = await self.__wrapped__.receive()
        if self._self_pending:
            with internal_errors:
                _mark_error_response(item, self._self_pending)
        return item

    def __aiter__(self) -> ResponseWatch:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> ResponseWatch:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self.__wrapped__.__aexit__(*exc_info)


# session -> its open tools/call spans by request id
SESSION_PENDING: weakref.WeakKeyDictionary[Any, dict[str, Span]] = weakref.WeakKeyDictionary()


def session_init_wrapper(
    register: Callable[[Any, tuple[Any, ...], dict[str, Any]], None],
) -> Callable[..., Any]:
    """``ClientSession(read_stream, write_stream, ...)`` on 2.x: watch its read stream."""

    def init(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        pending: dict[str, Span] = {}
        original = args, kwargs
        with internal_errors:
            if args and args[0] is not None:
                args = (ResponseWatch(args[0], pending), *args[1:])
            elif kwargs.get("read_stream") is not None:
                kwargs = {**kwargs, "read_stream": ResponseWatch(kwargs["read_stream"], pending)}
        result = wrapped(*args, **kwargs)
        with internal_errors:
            SESSION_PENDING[instance] = pending
            register(instance, *original)
        return result

    return init


@dataclass(frozen=True, slots=True)
class NativeCallPatch:
    """``call_tool`` on 2.x, for ``async_shell``: no span of ours, a ``NativeCall`` in the
    context instead while the call runs."""

    lookup: Callable[[Any], Transport | None]

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[NativeCall, object], tuple[Any, ...], dict[str, Any]] | None:
        with internal_errors:
            tool = args[0] if args else kwargs.get("name")
            call = NativeCall(
                tool if isinstance(tool, str) else None,
                self.lookup(instance),
                SESSION_PENDING.get(instance),
            )
            token = otel_context.attach(otel_context.set_value(_CALL_KEY, call))
            return (call, token), args, kwargs
        return None

    @staticmethod
    def failed(started: tuple[NativeCall, object], exc: BaseException) -> None:
        NativeCallPatch.finished(started, None)

    @staticmethod
    def finished(started: tuple[NativeCall, object], result: Any) -> Any:
        call, token = started
        with internal_errors:
            otel_context.detach(token)  # type: ignore[arg-type]
            call.done()
        return result


class TransportMiddleware:
    """Server middleware (mcp 2.x): the network attributes on the SDK's SERVER span."""

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        if Switch.on and getattr(ctx, "method", None) == semconv.MCP_TOOLS_CALL:
            with internal_errors:
                span = trace.get_current_span()
                if span.is_recording() and is_instrumentation_enabled():
                    span.set_attributes(
                        attrs.server_transport_attributes(getattr(ctx, "request", None))
                    )
        return await call_next(ctx)


def server_init_wrapper(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``Server(...)`` on 2.x: our middleware after the SDK's OpenTelemetry one."""
    result = wrapped(*args, **kwargs)
    with internal_errors:
        middleware = getattr(instance, "middleware", None)
        if isinstance(middleware, list) and not any(
            isinstance(m, TransportMiddleware) for m in middleware
        ):
            middleware.append(TransportMiddleware())
    return result
