"""One raw-response proxy: ``with_raw_response`` / ``with_streaming_response``.

The OpenAI and Anthropic SDKs (both Stainless-generated) return the same raw
response objects. A provider finishes a read body at once, and wraps anything
else behind a proxy that reads what the caller asks for::

    apply = my_response_apply                # (inv, parsed body or JSON) -> None
    if body_already_read:
        read_now(result, inv, apply)         # then inv.stop()
    else:
        state = RawState(inv, apply, lambda s: my_stream_proxy_or_none(s))
        return AsyncRawProxy(result, state)  # or RawProxy / ParseProxy

The proxy finishes the span with the first of: ``parse()`` (a streamed body comes
back wrapped in the provider's stream proxy, which then owns the span),
``json()``, ``close()`` (also the ``with`` exit), or garbage collection (marked
abandoned). Its state is in ``_self_*`` attributes, never on the SDK's object.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import wrapt

from . import semconv
from ._errors import internal_errors

__all__ = ["ApplyResponse", "AsyncRawProxy", "ParseProxy", "RawProxy", "RawState", "read_now"]

if TYPE_CHECKING:  # the GenAI core sits above this module: no import of it at run time
    from ._genai.lifecycle import LLMInvocation

    ObjectProxy = wrapt.ObjectProxy[Any]
else:
    ObjectProxy = wrapt.ObjectProxy

ApplyResponse = Callable[["LLMInvocation", Any], None]  # fill the record from a body
StreamWrapper = Callable[[Any], Any]  # SDK stream -> stream proxy (or None: not a stream)


def read_now(response: Any, inv: LLMInvocation, apply: ApplyResponse) -> None:
    """Fill ``inv`` from an already-read raw response body (JSON)."""
    http_response = getattr(response, "http_response", None)
    try:
        data = http_response.json() if http_response is not None else None
    except ValueError:  # not JSON (or empty): the span keeps the request side only
        data = None
    apply(inv, data)


class RawState:
    """The span bookkeeping behind one raw-response proxy (never references the proxy)."""

    __slots__ = ("_apply", "_done", "_stream_proxy", "_wrap_stream", "inv")

    def __init__(self, inv: LLMInvocation, apply: ApplyResponse, wrap_stream: StreamWrapper):
        self.inv = inv
        self._apply = apply
        self._wrap_stream = wrap_stream
        self._stream_proxy: Any = None
        self._done = False

    def parsed(self, value: Any) -> Any:
        """What ``parse()`` returned, possibly wrapped; finishes a non-stream span."""
        proxy = self._stream_proxy
        if proxy is not None and proxy.__wrapped__ is value:
            return proxy
        if self._done:
            return value
        self._done = True
        wrapped = None
        with internal_errors:
            wrapped = self._wrap_stream(value)
            if wrapped is None:
                self._apply(self.inv, value)
        if wrapped is not None:
            self._stream_proxy = wrapped
            return wrapped
        self.inv.stop()
        return value

    def finish(self) -> None:
        """End the span now (a handed-off stream ends with what it received)."""
        proxy = self._stream_proxy
        if proxy is not None:
            proxy._self_end(None)
            return
        self._done = True
        self.inv.stop()

    def abandoned(self) -> None:
        if self._stream_proxy is None and not self._done:
            self.inv.attributes[semconv.LLMTRACE_STREAM_ABANDONED] = True
            self.finish()


def _track(proxy: Any, state: RawState) -> None:
    finalizer = weakref.finalize(proxy, state.abandoned)
    finalizer.atexit = False


class ParseProxy(ObjectProxy):
    """A raw response that only parses (OpenAI's streamed ``LegacyAPIResponse``)."""

    def __init__(self, wrapped: Any, state: RawState) -> None:
        super().__init__(wrapped)
        self._self_state = state
        _track(self, state)

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_state.parsed(self.__wrapped__.parse(*args, **kwargs))


class RawProxy(ParseProxy):
    """A sync raw response: ``parse()``, ``json()`` and ``close()`` finish the span."""

    def json(self) -> Any:
        data = self.__wrapped__.json()
        self._self_state.parsed(data)
        return data

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_state.finish()


class AsyncRawProxy(ObjectProxy):
    """An async raw response (``AsyncAPIResponse``): the same, awaited."""

    def __init__(self, wrapped: Any, state: RawState) -> None:
        super().__init__(wrapped)
        self._self_state = state
        _track(self, state)

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_state.parsed(await self.__wrapped__.parse(*args, **kwargs))

    async def json(self) -> Any:
        data = await self.__wrapped__.json()
        self._self_state.parsed(data)
        return data

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_state.finish()
