"""The patch: wrappers around LiteLLM's public call functions and the Router's methods.

Per call of ``litellm.completion`` / ``acompletion`` / ``embedding`` / ``aembedding``:
suppression check -> arguments -> provider (``litellm.get_llm_provider``, once per
model and base URL) -> ``LLMInvocation.start()`` -> the real call, with the span
current and *exclusive* (an LLM span the openai SDK instrumentation would open for
LiteLLM's own SDK call is not opened: one call, one LLM span, one cost) -> response
extraction or a stream proxy -> ``stop()`` / ``fail()``. LiteLLM answers in OpenAI's
shapes for every provider, so the OpenAI instrumentation's response and stream
extractors read them.

A ``Router`` call gets an INTERNAL span ``litellm.router <method>``; each attempt the
Router makes (its retries and fallbacks go through ``litellm.completion`` /
``acompletion`` again) is one LLM span under it, failed attempts with their error.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap
from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue

from ... import semconv
from ..._errors import internal_errors
from ..._genai import metrics
from ..._genai.ending import status_code_of
from ..._genai.lifecycle import LLMInvocation
from ..._runtime import INSTRUMENTATION_NAME, VERSION, runtime
from ..._spans import start as start_span
from ..._streams import AsyncStreamProxy, StreamProxy
from ..openai._request import CHAT, Endpoint, add_request_content
from ..openai._response import apply_response
from ..openai._stream import OpenAIStreamHooks
from ._request import (
    CHAT_ENDPOINT,
    EMBEDDINGS_ENDPOINT,
    TargetTable,
    arguments,
    invocation,
    reports_stream_usage,
)

# (function in the litellm module, endpoint, async)
_FUNCTIONS: tuple[tuple[str, Endpoint, bool], ...] = (
    ("completion", CHAT_ENDPOINT, False),
    ("acompletion", CHAT_ENDPOINT, True),
    ("embedding", EMBEDDINGS_ENDPOINT, False),
    ("aembedding", EMBEDDINGS_ENDPOINT, True),
)
_ROUTER_METHODS: tuple[tuple[str, bool], ...] = (
    ("completion", False),
    ("acompletion", True),
    ("embedding", False),
    ("aembedding", True),
)


class _Call:
    """One traced call: the invocation and what its stream needs."""

    __slots__ = ("body", "endpoint", "hide_usage", "inv")

    def __init__(self, inv: LLMInvocation, endpoint: Endpoint, body: dict[str, Any]) -> None:
        self.inv = inv
        self.endpoint = endpoint
        self.body = body  # the call's arguments by name
        self.hide_usage = False


class LiteLLMPatch:
    """The wrappers and what they share (resolved once, at instrument time)."""

    def __init__(self, litellm: Any, tracer: Tracer | None = None, instruments: Any = None) -> None:
        self.targets = TargetTable(litellm.get_llm_provider)
        self._stream_type: type = litellm.CustomStreamWrapper
        self.tracer = tracer
        self.instruments = instruments

    def apply(self, litellm: Any) -> None:
        """Wrap LiteLLM's functions and the Router's methods with this patch."""
        for name, endpoint, asynchronous in _FUNCTIONS:
            wrap = self.async_wrapper if asynchronous else self.sync_wrapper
            wrapt.wrap_function_wrapper(litellm, name, wrap(endpoint))
        for name, asynchronous in _ROUTER_METHODS:
            wrapt.wrap_function_wrapper(
                litellm, f"Router.{name}", self.router_wrapper(name, asynchronous)
            )

    # -- phases shared by both shells (sans I/O) ------------------------------------------
    def prepare(
        self, endpoint: Endpoint, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> _Call | None:
        """The call record, or None to pass straight through."""
        with internal_errors:
            if self.tracer is None and runtime.tracer() is None:
                return None
            body = arguments(endpoint.kind, args, kwargs)
            target = self.targets.lookup(body)
            inv: LLMInvocation | None = None
            with internal_errors:
                inv = invocation(endpoint, body, target)
            if inv is None:
                inv = LLMInvocation(operation=endpoint.operation, provider=target.provider)
            inv.instruments = self.instruments
            call = _Call(inv, endpoint, body)
            if inv.stream and endpoint.kind == CHAT and "stream_options" not in body:
                call.hide_usage = reports_stream_usage(target)
            return call
        return None

    def start(self, call: _Call, kwargs: dict[str, Any]) -> dict[str, Any] | None:
        """Open the span (may raise ``BudgetExceeded`` on purpose); the kwargs to call with."""
        inv = call.inv
        if not inv.start(tracer=self.tracer):
            return None
        with internal_errors:
            if inv.capture_content:
                add_request_content(inv, call.endpoint, call.body)
        if call.hide_usage:
            kwargs = {**kwargs, "stream_options": {"include_usage": True}}
        inv.attach(exclusive=True)
        return kwargs

    def failed(self, call: _Call, exc: BaseException) -> None:
        inv = call.inv
        with internal_errors:
            code = status_code_of(exc)
            if code is not None:
                inv.attributes[semconv.HTTP_RESPONSE_STATUS_CODE] = code
        inv.fail(exc)

    def finished(self, call: _Call, result: Any, asynchronous: bool) -> Any:
        """Finish the span from ``result``, or hand it to a stream proxy."""
        inv = call.inv
        inv.detach()
        with internal_errors:
            if isinstance(result, self._stream_type):
                messages = call.body.get("messages")
                hooks = OpenAIStreamHooks(inv, CHAT, call.hide_usage, messages)
                if asynchronous:
                    return AsyncStreamProxy(result, hooks)
                return StreamProxy(result, hooks)
            apply_response(inv, call.endpoint.kind, result)
        inv.stop()
        return result

    # -- the two shells ---------------------------------------------------------------------
    def sync_wrapper(self, endpoint: Endpoint) -> Callable[..., Any]:
        def call_litellm(
            wrapped: Callable[..., Any],
            instance: Any,
            args: tuple[Any, ...],
            kwargs: dict[str, Any],
        ) -> Any:
            if not is_instrumentation_enabled():
                return wrapped(*args, **kwargs)
            call = self.prepare(endpoint, args, kwargs)
            if call is None:
                return wrapped(*args, **kwargs)
            started = self.start(call, kwargs)
            if started is None:
                return wrapped(*args, **kwargs)
            try:
                result = wrapped(*args, **started)
            except BaseException as exc:
                self.failed(call, exc)
                raise
            return self.finished(call, result, False)

        return call_litellm

    def async_wrapper(self, endpoint: Endpoint) -> Callable[..., Awaitable[Any]]:
        async def call_litellm(
            wrapped: Callable[..., Awaitable[Any]],
            instance: Any,
            args: tuple[Any, ...],
            kwargs: dict[str, Any],
        ) -> Any:
            if not is_instrumentation_enabled():
                return await wrapped(*args, **kwargs)
            call = self.prepare(endpoint, args, kwargs)
            if call is None:
                return await wrapped(*args, **kwargs)
            started = self.start(call, kwargs)
            if started is None:
                return await wrapped(*args, **kwargs)
            try:
                result = await wrapped(*args, **started)
            except BaseException as exc:
                self.failed(call, exc)
                raise
            return self.finished(call, result, True)

        return call_litellm

    # -- the Router --------------------------------------------------------------------------
    def _router_span(self, method: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        """A ``task`` span (roll-ups of its attempts land on it), current while it runs."""
        traced = None
        with internal_errors:
            attributes: dict[str, AttributeValue] = {}
            model = kwargs.get("model", args[0] if args else None)
            if isinstance(model, str):
                attributes[semconv.LLMTRACE_LITELLM_MODEL_GROUP] = model
            name = f"{semconv.LLMTRACE_LITELLM_ROUTER_SPAN} {method}"
            traced = start_span(name, "task", attributes, False, False, tracer=self.tracer)
            if traced is not None:
                traced.attach()
        return traced

    def router_wrapper(self, method: str, asynchronous: bool) -> Callable[..., Any]:
        if asynchronous:

            async def route_async(
                wrapped: Callable[..., Awaitable[Any]],
                instance: Any,
                args: tuple[Any, ...],
                kwargs: dict[str, Any],
            ) -> Any:
                traced = self._router_span(method, args, kwargs)
                if traced is None:
                    return await wrapped(*args, **kwargs)
                try:
                    result = await wrapped(*args, **kwargs)
                except BaseException as exc:
                    traced.end(exc)
                    raise
                traced.end()
                return result

            return route_async

        def route(
            wrapped: Callable[..., Any],
            instance: Any,
            args: tuple[Any, ...],
            kwargs: dict[str, Any],
        ) -> Any:
            traced = self._router_span(method, args, kwargs)
            if traced is None:
                return wrapped(*args, **kwargs)
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as exc:
                traced.end(exc)
                raise
            traced.end()
            return result

        return route


class _Pending:
    """What to patch LiteLLM with once it is imported (``init()`` does not import it:
    importing LiteLLM takes seconds, so an application pays for it only if it uses it)."""

    settings: tuple[Tracer | None, Any] | None = None
    patch: LiteLLMPatch | None = None
    hooked = False


def _on_import(litellm: Any) -> None:
    """wrapt's post-import hook: apply the pending patch (once; hooks cannot be removed)."""
    if _Pending.settings is None or _Pending.patch is not None:
        return
    patch = LiteLLMPatch(litellm, *_Pending.settings)
    patch.apply(litellm)
    _Pending.patch = patch


class LiteLLMInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """OpenTelemetry instrumentor (entry point ``llmtrace_litellm``) for LiteLLM.

    Patches LiteLLM when it is imported, or at once when it already is.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("litellm >= 1.60",)

    def _instrument(self, **kwargs: Any) -> None:
        tracer_provider = kwargs.get("tracer_provider")
        meter_provider = kwargs.get("meter_provider")
        _Pending.settings = (
            tracer_provider.get_tracer(INSTRUMENTATION_NAME, VERSION) if tracer_provider else None,
            metrics.instruments_for(meter_provider) if meter_provider else None,
        )
        if not _Pending.hooked:
            _Pending.hooked = True
            wrapt.register_post_import_hook(_on_import, "litellm")  # runs now if imported
        else:
            module = sys.modules.get("litellm")
            if module is not None:
                _on_import(module)

    def _uninstrument(self, **kwargs: Any) -> None:
        _Pending.settings = None
        if _Pending.patch is None:
            return
        _Pending.patch = None
        import litellm
        from litellm.router import Router

        for name, _, _ in _FUNCTIONS:
            unwrap(litellm, name)
        for name, _ in _ROUTER_METHODS:
            unwrap(Router, name)
