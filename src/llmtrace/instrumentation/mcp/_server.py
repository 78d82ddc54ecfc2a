"""The server side: each tool handler runs in a SERVER span in the client's trace.

The seam is the public registration decorator ``Server.call_tool()`` of
``mcp.server.lowlevel`` (FastMCP registers its tools through it too): the handler it
is given is wrapped so that, per call, the request's ``params._meta`` (from the public
``server.request_context``) gives the W3C parent, the span ``tools/call {tool}`` (kind
SERVER) is current while the handler runs, so every span the handler makes (LLM calls
included) joins the client's trace, and an exception or an ``isError`` result marks it
with ``error.type``. Servers built before ``instrument_mcp()`` / ``init()`` keep their
untraced handlers: instrument first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from ... import semconv
from ..._errors import internal_errors
from ..._genai.shells import Args, Kwargs, async_shell
from ..._runtime import runtime
from ..._spans import record_error
from . import _attributes as attrs

Handler = Callable[..., Awaitable[Any]]


class ServerPatch:
    """The wrapper of ``Server.call_tool()`` and the tracer it uses."""

    def __init__(self, tracer: Tracer | None) -> None:
        self.tracer = tracer

    def start(self, server: Any, tool: Any) -> tuple[Span, object] | None:
        """Open the SERVER span under the client's context and make it current."""
        with internal_errors:
            tracer = self.tracer or runtime.tracer()
            if tracer is None:
                return None
            name = tool if isinstance(tool, str) else None
            attributes = attrs.tool_attributes(name)
            parent = otel_context.get_current()
            try:
                request = server.request_context
            except LookupError:  # called outside a request (a test calling it directly)
                request = None
            if request is not None:
                carrier = attrs.carrier_of(getattr(request, "meta", None))
                if carrier:
                    remote = propagate.extract(carrier)
                    if trace.get_current_span(remote).get_span_context().is_valid:
                        parent = remote
                request_id = getattr(request, "request_id", None)
                if request_id is not None:
                    attributes[semconv.JSONRPC_REQUEST_ID] = str(request_id)
                attributes.update(
                    attrs.server_transport_attributes(getattr(request, "request", None))
                )
            span = tracer.start_span(attrs.span_name(name), parent, SpanKind.SERVER, attributes)
            token = otel_context.attach(trace.set_span_in_context(span, parent))
            return span, token
        return None

    @staticmethod
    def end(
        span: Span, token: object, result: Any = None, exc: BaseException | None = None
    ) -> None:
        with internal_errors:
            otel_context.detach(token)  # type: ignore[arg-type]
            if span.is_recording():
                if exc is not None:
                    code = attrs.protocol_error_code(exc)
                    span.set_attribute(
                        semconv.ERROR_TYPE,
                        str(code) if code is not None else type(exc).__qualname__,
                    )
                    record_error(span, exc)
                else:
                    error = attrs.result_error(result)
                    if error is not None:
                        span.set_attribute(semconv.ERROR_TYPE, error)
                        span.set_status(Status(StatusCode.ERROR))
            span.end()

    def traced(self, server: Any, handler: Handler) -> Handler:
        """``handler`` (``(name, arguments) -> result``) running in the SERVER span."""
        shell = async_shell(_HandlerPatch(self, server))

        async def traced_tool_handler(*args: Any, **kwargs: Any) -> Any:
            return await shell(handler, server, args, kwargs)

        return traced_tool_handler

    def decorator_wrapper(self) -> Callable[..., Any]:
        """Wraps ``Server.call_tool(...)``: the decorator it returns registers our handler."""

        def call_tool(
            wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs
        ) -> Any:
            decorator = wrapped(*args, **kwargs)

            def register(handler: Handler) -> Any:
                registered = decorator(self.traced(instance, handler))
                # The SDK hands the function back; the caller keeps its own, untouched.
                return handler if callable(registered) else registered

            return register

        return call_tool


@dataclass(frozen=True, slots=True)
class _HandlerPatch:
    """One server's tool handler calls, for ``async_shell``: each in a SERVER span."""

    patch: ServerPatch
    server: Any

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Span, object], tuple[Any, ...], dict[str, Any]] | None:
        started = self.patch.start(self.server, args[0] if args else kwargs.get("name"))
        return None if started is None else (started, args, kwargs)

    def failed(self, started: tuple[Span, object], exc: BaseException) -> None:
        self.patch.end(*started, exc=exc)

    def finished(self, started: tuple[Span, object], result: Any) -> Any:
        self.patch.end(*started, result)
        return result
