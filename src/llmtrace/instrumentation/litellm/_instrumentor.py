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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import wrapt
from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue

from ... import semconv
from ..._errors import internal_errors
from ..._genai.ending import fail_call
from ..._genai.instrumentor import Instrumentor, PatchSet, Target
from ..._genai.lifecycle import LLMInvocation
from ..._genai.shells import Args, Kwargs, async_shell, sync_shell
from ..._runtime import runtime
from ..._spans import TracedSpan
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

    def wrappers(self, litellm: Any) -> list[Target]:
        """LiteLLM's functions and the Router's methods, wrapped with this patch."""
        found = []
        for name, endpoint, asynchronous in _FUNCTIONS:
            shell = async_shell if asynchronous else sync_shell
            found.append(Target(litellm, name, shell(_FunctionPatch(self, endpoint, asynchronous))))
        for name, asynchronous in _ROUTER_METHODS:
            shell = async_shell if asynchronous else sync_shell
            found.append(Target(litellm, f"Router.{name}", shell(_RouterPatch(self, name))))
        return found

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
        if not inv.start(check_suppression=False, tracer=self.tracer):  # the shell checked
            return None
        with internal_errors:
            if inv.capture_content:
                add_request_content(inv, call.endpoint, call.body)
        if call.hide_usage:
            kwargs = {**kwargs, "stream_options": {"include_usage": True}}
        inv.attach(exclusive=True)
        return kwargs

    @staticmethod
    def failed(call: _Call, exc: BaseException) -> None:
        fail_call(call.inv, exc)

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

    # -- the Router --------------------------------------------------------------------------
    def router_span(self, method: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
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


@dataclass(frozen=True, slots=True)
class _FunctionPatch:
    """``litellm.completion`` and its siblings: one LLM span per call (for the shells)."""

    patch: LiteLLMPatch
    endpoint: Endpoint
    asynchronous: bool

    def begin(self, instance: Any, args: Args, kwargs: Kwargs) -> tuple[_Call, Args, Kwargs] | None:
        call = self.patch.prepare(self.endpoint, args, kwargs)
        if call is None:
            return None
        started = self.patch.start(call, kwargs)
        return None if started is None else (call, args, started)

    def failed(self, call: _Call, exc: BaseException) -> None:
        self.patch.failed(call, exc)

    def finished(self, call: _Call, result: Any) -> Any:
        return self.patch.finished(call, result, self.asynchronous)


@dataclass(frozen=True, slots=True)
class _RouterPatch:
    """A ``Router`` method: its INTERNAL span around the attempts (for the shells)."""

    patch: LiteLLMPatch
    method: str

    def begin(
        self, instance: Any, args: Args, kwargs: Kwargs
    ) -> tuple[TracedSpan, Args, Kwargs] | None:
        traced = self.patch.router_span(self.method, args, kwargs)
        return None if traced is None else (traced, args, kwargs)

    @staticmethod
    def failed(traced: TracedSpan, exc: BaseException) -> None:
        traced.end(exc)

    @staticmethod
    def finished(traced: TracedSpan, result: Any) -> Any:
        traced.end()
        return result


class _Pending:
    """What to patch LiteLLM with once it is imported (``init()`` does not import it:
    importing LiteLLM takes seconds, so an application pays for it only if it uses it)."""

    settings: tuple[Tracer | None, Any] | None = None
    patches: PatchSet | None = None
    hooked = False


def _on_import(litellm: Any) -> None:
    """wrapt's post-import hook: apply the pending patch (once; hooks cannot be removed)."""
    if _Pending.settings is None or _Pending.patches is not None:
        return
    patches = PatchSet()
    patches.apply(LiteLLMPatch(litellm, *_Pending.settings).wrappers(litellm))
    _Pending.patches = patches


class LiteLLMInstrumentor(Instrumentor):
    """OpenTelemetry instrumentor (entry point ``llmtrace_litellm``) for LiteLLM.

    Patches LiteLLM when it is imported, or at once when it already is.
    """

    dependencies = ("litellm >= 1.60",)

    def targets(self, tracer: Tracer | None, instruments: Any) -> Iterable[Target]:
        _Pending.settings = (tracer, instruments)
        if not _Pending.hooked:
            _Pending.hooked = True
            wrapt.register_post_import_hook(_on_import, "litellm")  # runs now if imported
        else:
            module = sys.modules.get("litellm")
            if module is not None:
                _on_import(module)
        return ()  # patched by _on_import, when LiteLLM is imported

    def restored(self) -> None:
        _Pending.settings = None
        if _Pending.patches is not None:
            _Pending.patches.undo()
            _Pending.patches = None
