"""The patch: one wrapper around the OpenAI client's single request method.

Every API call of ``OpenAI`` / ``AsyncOpenAI`` (and the Azure clients, which
subclass them) goes through ``SyncAPIClient.request`` / ``AsyncAPIClient.request``
with the endpoint in ``options.url``, the JSON body in ``options.json_data``
and ``stream=`` telling whether an SSE stream comes back. So one wrapper per
client kind covers create, parse, streams, ``with_raw_response`` and
``with_streaming_response``; a call to an endpoint that is not an LLM call
(files, models, ...) passes straight through.

Per call: suppression check -> endpoint lookup -> request extraction (pure)
-> ``LLMInvocation.start()`` -> the real call -> response extraction or a
stream/raw-response proxy -> ``stop()`` / ``fail()``. The sync and async
shells differ only by ``await``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import Tracer

from ..._errors import internal_errors, never_raise
from ..._genai.ending import fail_call
from ..._genai.instrumentor import Instrumentor, Target
from ..._genai.lifecycle import LLMInvocation
from ..._genai.shells import async_shell, sync_shell
from ..._raw import AsyncRawProxy, ParseProxy, RawProxy, RawState, read_now
from ..._runtime import runtime
from ..._streams import AsyncStreamProxy, StreamProxy
from ._messages import is_mapping
from ._providers import Server, ServerTable
from ._request import (
    CHAT,
    COMPLETION,
    Endpoint,
    add_request_content,
    endpoint_for,
    estimation_input,
    invocation_for,
    request_body,
)
from ._response import apply_response
from ._stream import OpenAIStreamHooks

_MODULE = "openai._base_client"
_TARGETS = ("SyncAPIClient.request", "AsyncAPIClient.request")

# What a request returned, as ``_handle`` treats it (decided once per result type).
_STREAM, _LEGACY_RAW, _RAW, _PARSED = "stream", "legacy_raw", "raw", "parsed"


class _Types:
    """The openai classes the wrapper tells apart, imported once at instrument time."""

    def __init__(self) -> None:
        import openai
        from openai import _legacy_response, _response

        self.stream: type = openai.Stream
        self.async_stream: type = openai.AsyncStream
        self.legacy_raw: type = _legacy_response.LegacyAPIResponse
        self.raw: type = _response.APIResponse
        self.async_raw: type = _response.AsyncAPIResponse
        self.azure: tuple[type, ...] = (openai.AzureOpenAI, openai.AsyncAzureOpenAI)
        self._results: dict[type, str] = {}

    def result_kind(self, result: Any) -> str:
        """How ``_handle`` treats ``result``: the isinstance checks run once per type."""
        cls = type(result)
        kind = self._results.get(cls)
        if kind is None:
            if isinstance(result, (self.stream, self.async_stream)):
                kind = _STREAM
            elif isinstance(result, self.legacy_raw):
                kind = _LEGACY_RAW
            elif isinstance(result, (self.raw, self.async_raw)):
                kind = _RAW
            else:
                kind = _PARSED
            if len(self._results) < 256:
                self._results[cls] = kind
        return kind


@dataclass(slots=True)
class _Call:
    """One traced request: the invocation plus what its stream or raw response needs."""

    inv: LLMInvocation
    tracer: Tracer
    endpoint: Endpoint
    server: Server
    stream: bool
    hide_usage: bool = False  # include_usage was added: hide the usage-only chunk
    estimate_input: Any = None  # what a stream without usage is estimated from


class OpenAIPatch:
    """The wrappers and the configuration they share (resolved once, at instrument time)."""

    def __init__(self, tracer: Tracer | None = None, instruments: Any = None) -> None:
        self.types = _Types()
        self.servers = ServerTable(self.types.azure)
        # Given to instrument() (OpenTelemetry's contract), else llmtrace's own setup.
        self.tracer = tracer
        self.instruments = instruments

    # -- phases shared by both shells (sans I/O) ------------------------------------------
    def prepare(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Call | None:
        """The call record for an LLM request, or None to pass straight through."""
        with internal_errors:
            options = args[1] if len(args) > 1 else kwargs.get("options")
            endpoint = endpoint_for(getattr(options, "method", None), getattr(options, "url", None))
            if endpoint is None:
                return None
            tracer = self.tracer or runtime.tracer()
            if tracer is None:
                return None
            server = self.servers.lookup(instance)
            body = request_body(options)
            inv = None
            with internal_errors:
                inv = invocation_for(endpoint, body, server)
            if inv is None:  # request extraction failed: still trace the call with what is known
                inv = LLMInvocation(operation=endpoint.operation, provider=server.provider)
            if self.instruments is not None:
                inv.instruments = self.instruments
            return _Call(inv, tracer, endpoint, server, bool(kwargs.get("stream")))
        return None

    def _after_start(
        self, call: _Call, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        options = args[1] if len(args) > 1 else kwargs.get("options")
        body = request_body(options)
        if call.inv.capture_content:
            add_request_content(call.inv, call.endpoint, body)
        if not call.stream:
            return args, kwargs
        call.estimate_input = estimation_input(call.endpoint, body)
        sent = getattr(options, "json_data", None)  # the body without extra_body
        if call.endpoint.kind in (CHAT, COMPLETION) and is_mapping(sent):
            new_body = _with_include_usage(sent, getattr(options, "extra_json", None))
            if new_body is not None and call.server.include_usage:
                new_options = copy.copy(options)
                new_options.json_data = new_body  # type: ignore[union-attr]
                call.hide_usage = True
                if len(args) > 1:
                    args = (args[0], new_options, *args[2:])
                else:
                    kwargs = {**kwargs, "options": new_options}
        return args, kwargs

    def failed(self, call: _Call, exc: BaseException) -> None:
        fail_call(call.inv, exc)

    def finished(self, call: _Call, result: Any) -> Any:
        """Finish the span from ``result``, or hand it to a proxy; returns what the caller gets."""
        inv = call.inv
        inv.detach()
        proxy = self._handle(call, result)
        if proxy is not None:
            return proxy
        inv.stop()
        return result

    @never_raise(None)
    def _handle(self, call: _Call, result: Any, /) -> Any:
        """The proxy the caller gets instead of ``result`` (None: ``result`` as it is)."""
        types = self.types
        kind = types.result_kind(result)
        if kind is _PARSED:
            apply_response(call.inv, call.endpoint.kind, result)
            return None
        if kind is _STREAM:
            return self._wrap_stream(call, result)
        if kind is not _RAW and kind is not _LEGACY_RAW:
            return None
        endpoint_kind = call.endpoint.kind

        def apply(inv: LLMInvocation, body: Any) -> None:
            apply_response(inv, endpoint_kind, body)

        if kind is _LEGACY_RAW and not call.stream:
            read_now(result, call.inv, apply)
            return None
        state = RawState(call.inv, apply, lambda s: self._wrap_stream(call, s))
        if isinstance(result, types.async_raw):
            return AsyncRawProxy(result, state)
        if isinstance(result, types.raw):
            return RawProxy(result, state)
        return ParseProxy(result, state)

    def _wrap_stream(self, call: _Call, stream: Any) -> Any:
        """A stream proxy for an SDK stream object; None for anything else."""
        types = self.types
        if not isinstance(stream, (types.stream, types.async_stream)):
            return None
        hooks = OpenAIStreamHooks(
            call.inv, call.endpoint.kind, call.hide_usage, call.estimate_input
        )
        if isinstance(stream, types.async_stream):
            return AsyncStreamProxy(stream, hooks)
        return StreamProxy(stream, hooks)

    # -- what the shells (llmtrace._genai.shells) call ---------------------------------------
    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[_Call, tuple[Any, ...], dict[str, Any]] | None:
        """Open the span (may raise ``BudgetExceeded`` on purpose): the call record and the
        arguments to call with; None: pass straight through."""
        call = self.prepare(instance, args, kwargs)
        if call is None:
            return None
        inv = call.inv
        if not inv.start(check_suppression=False, tracer=call.tracer):  # the shell checked
            return None
        if call.stream or inv.capture_content:
            with internal_errors:
                args, kwargs = self._after_start(call, instance, args, kwargs)
        inv.attach()
        return call, args, kwargs


def _with_include_usage(body: Mapping[str, Any], extra: Any) -> dict[str, Any] | None:
    """The body with ``stream_options.include_usage`` added, or None if the caller chose."""
    if extra is not None and is_mapping(extra) and "stream_options" in extra:
        return None
    options = body.get("stream_options")
    if options is not None and is_mapping(options):
        if "include_usage" in options:
            return None
        return {**body, "stream_options": {**options, "include_usage": True}}
    if options is not None:
        return None
    return {**body, "stream_options": {"include_usage": True}}


class OpenAIInstrumentor(Instrumentor):
    """OpenTelemetry instrumentor (entry point ``llmtrace_openai``) for the openai SDK."""

    dependencies = ("openai >= 1.0",)
    _patch: OpenAIPatch | None = None

    def targets(self, tracer: Tracer | None, instruments: Any) -> Iterable[Target]:
        patch = OpenAIInstrumentor._patch = OpenAIPatch(tracer, instruments)
        sync_name, async_name = _TARGETS
        return [
            Target(_MODULE, sync_name, sync_shell(patch)),
            Target(_MODULE, async_name, async_shell(patch)),
        ]

    def restored(self) -> None:
        OpenAIInstrumentor._patch = None
