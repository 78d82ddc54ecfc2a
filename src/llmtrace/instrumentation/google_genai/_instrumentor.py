"""The patch: wrappers around the public model methods of ``google.genai``.

``Models`` and ``AsyncModels`` (``client.models`` / ``client.aio.models``):
``generate_content``, ``generate_content_stream`` and ``embed_content``. Chats
(``client.chats.create(...).send_message`` / ``send_message_stream``) call these
methods, so a chat turn is one span too. One call is one span.

Per call: suppression check -> request extraction (pure) -> ``LLMInvocation.start()``
-> the real call -> response extraction, or a stream proxy -> ``stop()`` / ``fail()``.
The sync and async shells differ only by ``await``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap
from opentelemetry.trace import Tracer

from ... import semconv
from ..._errors import internal_errors
from ..._genai import metrics
from ..._genai.lifecycle import LLMInvocation
from ..._runtime import INSTRUMENTATION_NAME, VERSION, runtime
from ..._streams import AsyncStreamProxy, StreamProxy
from ._request import EMBED, GENERATE, add_request_content, invocation_for
from ._response import apply_embeddings, apply_response, status_code_of
from ._stream import GeminiStreamHooks

_MODULE = "google.genai.models"
_CLASSES = ("Models", "AsyncModels")
_METHODS = ("generate_content", "generate_content_stream", "embed_content")


class GoogleGenAIPatch:
    """The wrappers and what they share (resolved once, at instrument time)."""

    def __init__(self, tracer: Tracer | None = None, instruments: Any = None) -> None:
        # Given to instrument() (OpenTelemetry's contract), else llmtrace's own setup.
        self.tracer = tracer
        self.instruments = instruments

    # -- phases shared by every shell (sans I/O) ------------------------------------------
    def begin(
        self, kind: str, streaming: bool, instance: Any, kwargs: dict[str, Any]
    ) -> LLMInvocation | None:
        """The started invocation, or None to pass straight through.

        May raise ``BudgetExceeded`` on purpose, before the call.
        """
        if self.tracer is None and runtime.tracer() is None:
            return None
        inv = None
        with internal_errors:
            inv = invocation_for(kind, getattr(instance, "vertexai", None), kwargs)
        if inv is None:  # request extraction failed: still trace the call with what is known
            inv = invocation_for(kind, None, {})
        inv.instruments = self.instruments
        if streaming:
            inv.stream = True
        if not inv.start(tracer=self.tracer):
            return None
        if inv.capture_content and inv.is_recording:
            with internal_errors:
                add_request_content(inv, kind, kwargs)
        inv.attach()
        return inv

    def failed(self, inv: LLMInvocation, exc: BaseException) -> None:
        with internal_errors:
            code = status_code_of(exc)
            if code is not None:
                inv.attributes[semconv.HTTP_RESPONSE_STATUS_CODE] = code
        inv.fail(exc)

    def finished(self, inv: LLMInvocation, kind: str, kwargs: dict[str, Any], result: Any) -> None:
        inv.detach()
        with internal_errors:
            if kind == EMBED:
                apply_embeddings(inv, result, kwargs.get("contents"))
            else:
                apply_response(inv, result)
        inv.stop()

    def stream_started(self, inv: LLMInvocation, kwargs: dict[str, Any], stream: Any) -> Any:
        """The proxy the caller iterates instead of the SDK's generator."""
        inv.detach()
        with internal_errors:
            hooks = GeminiStreamHooks(inv, kwargs.get("contents"))
            if hasattr(stream, "__aiter__"):
                return AsyncStreamProxy(stream, hooks)
            if hasattr(stream, "__iter__"):
                return StreamProxy(stream, hooks)
        inv.stop()
        return stream

    # -- the shells -----------------------------------------------------------------------
    def sync_wrapper(self, kind: str, streaming: bool) -> Callable[..., Any]:
        def call(
            wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any
        ) -> Any:
            if not is_instrumentation_enabled():
                return wrapped(*args, **kwargs)
            inv = self.begin(kind, streaming, instance, kwargs)
            if inv is None:
                return wrapped(*args, **kwargs)
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as exc:
                self.failed(inv, exc)
                raise
            if streaming:
                return self.stream_started(inv, kwargs, result)
            self.finished(inv, kind, kwargs, result)
            return result

        return call

    def async_wrapper(self, kind: str, streaming: bool) -> Callable[..., Awaitable[Any]]:
        async def call(
            wrapped: Callable[..., Awaitable[Any]],
            instance: Any,
            args: tuple[Any, ...],
            kwargs: Any,
        ) -> Any:
            if not is_instrumentation_enabled():
                return await wrapped(*args, **kwargs)
            inv = self.begin(kind, streaming, instance, kwargs)
            if inv is None:
                return await wrapped(*args, **kwargs)
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as exc:
                self.failed(inv, exc)
                raise
            if streaming:
                return self.stream_started(inv, kwargs, result)
            self.finished(inv, kind, kwargs, result)
            return result

        return call


class GoogleGenAIInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """OpenTelemetry instrumentor (entry point ``llmtrace_google_genai``) for google-genai."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("google-genai >= 1.10",)

    def _instrument(self, **kwargs: Any) -> None:
        tracer_provider = kwargs.get("tracer_provider")
        meter_provider = kwargs.get("meter_provider")
        patch = GoogleGenAIPatch(
            tracer_provider.get_tracer(INSTRUMENTATION_NAME, VERSION) if tracer_provider else None,
            metrics.instruments_for(meter_provider) if meter_provider else None,
        )
        for cls in _CLASSES:
            shell = patch.async_wrapper if cls.startswith("Async") else patch.sync_wrapper
            for method in _METHODS:
                kind = EMBED if method == "embed_content" else GENERATE
                wrapper = shell(kind, method.endswith("_stream"))
                wrapt.wrap_function_wrapper(_MODULE, f"{cls}.{method}", wrapper)

    def _uninstrument(self, **kwargs: Any) -> None:
        from google.genai import models

        for cls in _CLASSES:
            for method in _METHODS:
                unwrap(getattr(models, cls), method)
