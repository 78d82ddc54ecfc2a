"""The patch: ``bedrock-runtime`` clients get traced operation methods when they are created.

botocore builds each client's class at run time, so there is no method to patch in
advance. The public ``botocore.session.Session.create_client`` (which ``boto3.client``
calls) is wrapped; every ``bedrock-runtime`` client it returns gets its four public
operation methods wrapped on the instance (``converse``, ``converse_stream``,
``invoke_model``, ``invoke_model_with_response_stream``). Nothing private of botocore
is used. Clients created before instrumenting are left alone; uninstrumenting restores
the methods of every client that was wrapped.

Per call: suppression check -> request mapping (pure) -> ``LLMInvocation.start()`` ->
the real call -> response mapping or a stream proxy -> ``stop()`` / ``fail()``.
"""

from __future__ import annotations

import io
import weakref
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import wrapt
from opentelemetry.instrumentation.utils import is_instrumentation_enabled, unwrap
from opentelemetry.trace import Tracer

from ... import semconv
from ..._errors import Failed, attempt, internal_errors
from ..._genai import providers
from ..._genai.instrumentor import Instrumentor, Target
from ..._genai.lifecycle import LLMInvocation
from ..._streams import StreamProxy
from ._converse import Answer, add_converse_content, apply_converse_response, converse_invocation
from ._invoke import (
    InvokeChunks,
    add_invoke_content,
    apply_invoke_body,
    estimation_input,
    header_usage,
    invoke_invocation,
    is_known,
    parse_body,
)
from ._models import Server, family
from ._stream import ConverseStreamHooks, InvokeStreamHooks, error_details

SERVICE = "bedrock-runtime"
Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


def server_of(client: Any) -> Server:
    """(host, port) of the client's endpoint (``endpoint_url=`` or the regional default)."""
    url = urlsplit(str(client.meta.endpoint_url))
    port = url.port or (443 if url.scheme == "https" else 80 if url.scheme == "http" else None)
    return url.hostname, port


def _request_id(inv: LLMInvocation, response: Any) -> dict[str, Any] | None:
    """The response's HTTP headers; the AWS request id goes on the span."""
    metadata = response.get("ResponseMetadata") if isinstance(response, dict) else None
    if not isinstance(metadata, dict):
        return None
    request_id = metadata.get("RequestId")
    if isinstance(request_id, str) and request_id:
        inv.attributes[semconv.AWS_REQUEST_ID] = request_id
    headers = metadata.get("HTTPHeaders")
    return headers if isinstance(headers, dict) else None


class _FailedRead(io.RawIOBase):
    """A body whose read raises what reading the real body raised (at the user's read)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        raise self.error


class BedrockPatch:
    """The wrappers and what they share (resolved once, at instrument time)."""

    def __init__(self, tracer: Tracer | None = None, instruments: Any = None) -> None:
        from botocore.response import StreamingBody

        self.tracer = tracer
        self.instruments = instruments
        self.provider = providers.by_alias("bedrock")
        self.streaming_body = StreamingBody
        self.clients: weakref.WeakSet[Any] = weakref.WeakSet()
        self.methods: dict[str, Callable[[Server], Wrapper]] = {
            "converse": lambda server: partial(self.converse, server, False),
            "converse_stream": lambda server: partial(self.converse, server, True),
            "invoke_model": lambda server: partial(self.invoke, server, False),
            "invoke_model_with_response_stream": lambda server: partial(self.invoke, server, True),
        }

    # -- clients ----------------------------------------------------------------------------
    def create_client(
        self, wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any
    ) -> Any:
        client = wrapped(*args, **kwargs)
        with internal_errors:
            self.attach(client)
        return client

    def attach(self, client: Any) -> None:
        meta = getattr(client, "meta", None)
        service = getattr(getattr(meta, "service_model", None), "service_name", None)
        if service != SERVICE or client in self.clients:
            return
        server = server_of(client)
        for name, make in self.methods.items():
            if callable(getattr(client, name, None)):
                wrapt.wrap_function_wrapper(client, name, make(server))
        self.clients.add(client)

    def detach_all(self) -> None:
        for client in list(self.clients):
            for name in self.methods:
                with internal_errors:
                    unwrap(client, name)
                    if name in vars(client):  # back to the class's method
                        delattr(client, name)
        self.clients = weakref.WeakSet()

    # -- the shared shell ---------------------------------------------------------------------
    def _start(self, make: Callable[[], LLMInvocation]) -> LLMInvocation | None:
        inv: LLMInvocation | None = None
        with internal_errors:
            inv = make()
        if inv is None:
            return None
        inv.instruments = self.instruments
        # May raise BudgetExceeded, on purpose. Suppression: checked by converse and invoke.
        if not inv.start(check_suppression=False, tracer=self.tracer):
            return None
        return inv

    def _call(self, inv: LLMInvocation, wrapped: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        inv.attach()
        try:
            return wrapped(*args, **kwargs)
        except BaseException as exc:
            with internal_errors:
                error_details(inv, exc)
            inv.fail(exc)
            raise
        finally:
            inv.detach()

    def _stream(self, inv: LLMInvocation, result: Any, key: str, hooks: Any) -> Any:
        """The response with its event stream behind a proxy (the span ends with the stream)."""
        stream = result.get(key) if isinstance(result, dict) else None
        if stream is None:
            inv.stop()
            return result
        return {**result, key: StreamProxy(stream, hooks)}

    # -- Converse and ConverseStream ----------------------------------------------------------
    def converse(
        self, server: Server, stream: bool, wrapped: Any, instance: Any, args: Any, kwargs: Any
    ) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        inv = self._start(lambda: converse_invocation(kwargs, self.provider, server, stream))
        if inv is None:
            return wrapped(*args, **kwargs)
        if inv.capture_content:
            with internal_errors:
                add_converse_content(inv, kwargs)
        result = self._call(inv, wrapped, args, kwargs)
        with internal_errors:
            _request_id(inv, result)
            if stream:
                answer = Answer(kwargs.get("messages"))
                return self._stream(inv, result, "stream", ConverseStreamHooks(inv, answer))
            apply_converse_response(inv, result)
        inv.stop()
        return result

    # -- InvokeModel and InvokeModelWithResponseStream ----------------------------------------
    def invoke(
        self, server: Server, stream: bool, wrapped: Any, instance: Any, args: Any, kwargs: Any
    ) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        state: list[Any] = []

        def make() -> LLMInvocation:
            model_id = kwargs.get("modelId")
            model_id = model_id if isinstance(model_id, str) else None
            body = parse_body(kwargs.get("body"))
            kind = family(model_id, body)
            state.extend((kind, body))
            return invoke_invocation(model_id, kind, body, self.provider, server, stream)

        inv = self._start(make)
        if inv is None:
            return wrapped(*args, **kwargs)
        kind, body = state
        if inv.capture_content:
            with internal_errors:
                add_invoke_content(inv, kind, body)
        result = self._call(inv, wrapped, args, kwargs)
        with internal_errors:
            headers = _request_id(inv, result)
            if stream:
                chunks = InvokeChunks(kind, estimation_input(kind, body))
                return self._stream(inv, result, "body", InvokeStreamHooks(inv, chunks))
            if is_known(kind):
                result = self._read_body(inv, kind, result, headers)
            else:
                inv.usage = header_usage(headers)
        inv.stop()
        return result

    def _read_body(self, inv: LLMInvocation, kind: str, result: Any, headers: Any) -> Any:
        """Read the (already complete) JSON body and give the caller an unread copy of it."""
        body = result.get("body") if isinstance(result, dict) else None
        if not isinstance(body, self.streaming_body):
            inv.usage = header_usage(headers)
            return result
        try:
            data = attempt(body.read)
        except BaseException as exc:  # KeyboardInterrupt and the like: now, not later
            inv.fail(exc)
            raise
        if isinstance(data, Failed):  # the caller's read() raises it, as before
            inv.usage = header_usage(headers)
            return {**result, "body": self.streaming_body(_FailedRead(data.error), None)}
        copy = self.streaming_body(io.BytesIO(data), len(data))
        with internal_errors:
            apply_invoke_body(inv, kind, parse_body(data), headers)
        return {**result, "body": copy}


class BedrockInstrumentor(Instrumentor):
    """OpenTelemetry instrumentor (entry point ``llmtrace_bedrock``) for boto3's bedrock-runtime."""

    dependencies = ("botocore >= 1.34.116",)
    _patch: BedrockPatch | None = None

    def targets(self, tracer: Tracer | None, instruments: Any) -> Iterable[Target]:
        patch = BedrockInstrumentor._patch = BedrockPatch(tracer, instruments)
        return [Target("botocore.session", "Session.create_client", patch.create_client)]

    def restored(self) -> None:
        patch, BedrockInstrumentor._patch = BedrockInstrumentor._patch, None
        if patch is not None:
            patch.detach_all()
