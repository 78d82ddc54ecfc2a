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

from collections.abc import Iterable
from typing import Any

from opentelemetry.trace import Tracer

from ... import semconv
from ..._errors import internal_errors
from ..._genai.ending import fail_call
from ..._genai.instrumentor import Instrumentor, Target
from ..._genai.lifecycle import LLMInvocation
from ..._genai.shells import async_shell, sync_shell
from ..._runtime import runtime
from ..._streams import AsyncStreamProxy, StreamProxy
from ._request import EMBED, GENERATE, add_request_content, invocation_for
from ._response import apply_embeddings, apply_response, status_code_of
from ._stream import GeminiStreamHooks

_MODULE = "google.genai.models"
_CLASSES = ("Models", "AsyncModels")
_METHODS = ("generate_content", "generate_content_stream", "embed_content")
# One call in the shells: its invocation and the keyword arguments its phases read.
_Call = tuple[LLMInvocation, dict[str, Any]]


class GoogleGenAIPatch:
    """One wrapped method's phases for the shells (``llmtrace._genai.shells``), with the
    configuration resolved once, at instrument time."""

    __slots__ = ("instruments", "kind", "streaming", "tracer")

    def __init__(
        self, tracer: Tracer | None, instruments: Any, kind: str = GENERATE, streaming: bool = False
    ) -> None:
        # Given to instrument() (OpenTelemetry's contract), else llmtrace's own setup.
        self.tracer = tracer
        self.instruments = instruments
        self.kind = kind  # GENERATE or EMBED: which extractors read the call
        self.streaming = streaming  # generate_content_stream: the result is a stream

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[_Call, tuple[Any, ...], dict[str, Any]] | None:
        """The started call and the arguments to call with; None: pass straight through.

        May raise ``BudgetExceeded`` on purpose, before the call.
        """
        if self.tracer is None and runtime.tracer() is None:
            return None
        kind = self.kind
        inv = None
        with internal_errors:
            inv = invocation_for(kind, getattr(instance, "vertexai", None), kwargs)
        if inv is None:  # request extraction failed: still trace the call with what is known
            inv = invocation_for(kind, None, {})
        inv.instruments = self.instruments
        if self.streaming:
            inv.stream = True
        if not inv.start(check_suppression=False, tracer=self.tracer):  # the shell checked
            return None
        if inv.capture_content and inv.is_recording:
            with internal_errors:
                add_request_content(inv, kind, kwargs)
        inv.attach()
        return (inv, kwargs), args, kwargs

    def failed(self, call: _Call, exc: BaseException) -> None:
        fail_call(call[0], exc, _add_status)

    def finished(self, call: _Call, result: Any) -> Any:
        inv, kwargs = call
        inv.detach()
        if self.streaming:
            return self._stream(inv, kwargs, result)
        with internal_errors:
            if self.kind == EMBED:
                apply_embeddings(inv, result, kwargs.get("contents"))
            else:
                apply_response(inv, result)
        inv.stop()
        return result

    @staticmethod
    def _stream(inv: LLMInvocation, kwargs: dict[str, Any], stream: Any) -> Any:
        """The proxy the caller iterates instead of the SDK's generator."""
        with internal_errors:
            hooks = GeminiStreamHooks(inv, kwargs.get("contents"))
            if hasattr(stream, "__aiter__"):
                return AsyncStreamProxy(stream, hooks)
            if hasattr(stream, "__iter__"):
                return StreamProxy(stream, hooks)
        inv.stop()
        return stream


def _add_status(inv: LLMInvocation, exc: BaseException) -> None:
    """``http.response.status_code`` from a ``google.genai.errors.APIError``."""
    code = status_code_of(exc)
    if code is not None:
        inv.attributes[semconv.HTTP_RESPONSE_STATUS_CODE] = code


class GoogleGenAIInstrumentor(Instrumentor):
    """OpenTelemetry instrumentor (entry point ``llmtrace_google_genai``) for google-genai."""

    dependencies = ("google-genai >= 1.10",)

    def targets(self, tracer: Tracer | None, instruments: Any) -> Iterable[Target]:
        for cls in _CLASSES:
            shell = async_shell if cls.startswith("Async") else sync_shell
            for method in _METHODS:
                kind = EMBED if method == "embed_content" else GENERATE
                patch = GoogleGenAIPatch(tracer, instruments, kind, method.endswith("_stream"))
                yield Target(_MODULE, f"{cls}.{method}", shell(patch))
