"""One generic stream proxy base: providers add hooks, the proxy owns the lifecycle.

An instrumentation that returns a stream to the caller wraps it::

    class MyHooks(StreamHooks):
        def on_chunk(self, chunk):         # every chunk the stream yields
            ...accumulate...; return True  # False hides the chunk from the caller
        def on_end(self, error, abandoned):
            ...finish the span (called exactly once)...

    return StreamProxy(stream, MyHooks())          # or AsyncStreamProxy for async streams

The proxy passes every attribute and method through to the stream (``isinstance``
still works) and keeps its own state in ``_self_*`` attributes, so nothing is
written on the caller's object. It calls ``on_end`` exactly once, whichever
comes first: the stream is exhausted (``error=None``), it raises (``error`` is
that exception, re-raised unchanged), ``close()`` or the context-manager exit
(``error`` is the exception leaving the ``with`` block, if any), or the proxy
is garbage-collected unfinished, e.g. after an early ``break`` without ``with``
(``abandoned=True``). Hooks run inside the never-raise guard: a bug in a hook
is logged and the chunk is still delivered.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import wrapt

from ._errors import internal_errors, is_strict, report_internal_error

__all__ = ["AsyncStreamProxy", "StreamHooks", "StreamProxy"]

if TYPE_CHECKING:
    ObjectProxy = wrapt.ObjectProxy[Any]
else:
    ObjectProxy = wrapt.ObjectProxy


class StreamHooks:
    """What a provider plugs into a stream proxy. Must not reference the proxy itself."""

    __slots__ = ()

    def on_chunk(self, chunk: Any) -> bool:
        """Look at one chunk; return False to hide it from the caller."""
        return True

    def on_end(self, error: BaseException | None, abandoned: bool) -> None:
        """The stream is over (exhausted, failed, closed or dropped). Called exactly once."""


def _end_abandoned(hooks: StreamHooks) -> None:
    """GC path: the proxy was collected before the stream ended."""
    with internal_errors:
        hooks.on_end(None, True)


def _chunk_error(exc: Exception) -> None:
    if is_strict():
        raise exc
    report_internal_error(exc)


def _next_of(wrapped: Any) -> Callable[[], Any]:
    step: Callable[[], Any] = (
        wrapped.__next__ if hasattr(type(wrapped), "__next__") else iter(wrapped).__next__
    )
    return step


def _anext_of(wrapped: Any) -> Callable[[], Any]:
    step: Callable[[], Any] = (
        wrapped.__anext__ if hasattr(type(wrapped), "__anext__") else wrapped.__aiter__().__anext__
    )
    return step


class _ProxyBase(ObjectProxy):
    """State and the exactly-once ending shared by the sync and async proxies."""

    def __init__(self, wrapped: Any, hooks: StreamHooks) -> None:
        super().__init__(wrapped)
        self._self_hooks = hooks
        # The finalizer doubles as the exactly-once guard: detach() succeeds only once.
        self._self_finalizer = weakref.finalize(self, _end_abandoned, hooks)
        self._self_finalizer.atexit = False

    def _self_end(self, error: BaseException | None) -> None:
        """Finish now (idempotent): the stream ended, failed or was closed."""
        if self._self_finalizer.detach() is not None:
            with internal_errors:
                self._self_hooks.on_end(error, False)

    @property
    def _self_finished(self) -> bool:
        return not self._self_finalizer.alive

    def __repr__(self) -> str:
        return repr(self.__wrapped__)

    def __copy__(self) -> Any:
        raise TypeError(f"{type(self.__wrapped__).__name__} streams cannot be copied")

    def __deepcopy__(self, memo: Any) -> Any:
        raise TypeError(f"{type(self.__wrapped__).__name__} streams cannot be copied")

    def __reduce__(self) -> Any:
        raise TypeError(f"{type(self.__wrapped__).__name__} streams cannot be pickled")

    def __reduce_ex__(self, protocol: Any) -> Any:
        return self.__reduce__()


class StreamProxy(_ProxyBase):
    """Proxy for a synchronous stream (iterator with optional ``close`` / ``with``)."""

    def __init__(self, wrapped: Any, hooks: StreamHooks) -> None:
        super().__init__(wrapped, hooks)
        self._self_next = _next_of(wrapped)

    def __iter__(self) -> StreamProxy:
        return self

    def __next__(self) -> Any:
        hooks = self._self_hooks
        while True:
            try:
                chunk = self._self_next()
            except StopIteration:
                self._self_end(None)
                raise
            except BaseException as exc:
                self._self_end(exc)
                raise
            try:
                if hooks.on_chunk(chunk):
                    return chunk
            except Exception as exc:  # noqa: BLE001 - a hook bug must not lose the chunk
                _chunk_error(exc)
                return chunk

    def close(self) -> None:
        try:
            closer = getattr(self.__wrapped__, "close", None)
            if closer is not None:
                closer()
        finally:
            self._self_end(None)

    def __enter__(self) -> StreamProxy:
        enter = getattr(self.__wrapped__, "__enter__", None)
        if enter is not None:
            enter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        try:
            exit_ = getattr(self.__wrapped__, "__exit__", None)
            if exit_ is not None:
                return exit_(exc_type, exc, tb)  # type: ignore[no-any-return]
            closer = getattr(self.__wrapped__, "close", None)
            if closer is not None:
                closer()
            return None
        finally:
            self._self_end(exc)


class AsyncStreamProxy(_ProxyBase):
    """Proxy for an async stream (async iterator with optional ``close`` / ``async with``)."""

    def __init__(self, wrapped: Any, hooks: StreamHooks) -> None:
        super().__init__(wrapped, hooks)
        self._self_anext = _anext_of(wrapped)

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        hooks = self._self_hooks
        while True:
            try:
                chunk = await self._self_anext()
            except StopAsyncIteration:
                self._self_end(None)
                raise
            except BaseException as exc:
                self._self_end(exc)
                raise
            try:
                if hooks.on_chunk(chunk):
                    return chunk
            except Exception as exc:  # noqa: BLE001 - a hook bug must not lose the chunk
                _chunk_error(exc)
                return chunk

    async def close(self) -> None:
        try:
            wrapped = self.__wrapped__
            closer = getattr(wrapped, "close", None) or getattr(wrapped, "aclose", None)
            if closer is not None:
                result = closer()
                if hasattr(result, "__await__"):
                    await result
        finally:
            self._self_end(None)

    async def aclose(self) -> None:
        await self.close()

    async def __aenter__(self) -> AsyncStreamProxy:
        enter = getattr(self.__wrapped__, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        try:
            exit_ = getattr(self.__wrapped__, "__aexit__", None)
            if exit_ is not None:
                return await exit_(exc_type, exc, tb)  # type: ignore[no-any-return]
            await self.close()
            return None
        finally:
            self._self_end(exc)
