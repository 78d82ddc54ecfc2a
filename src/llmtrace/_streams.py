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
(``error`` is the exception leaving the ``with`` block, if any; ``GeneratorExit``,
a generator reading the stream being closed, is ``abandoned=True`` instead), or
the proxy is garbage-collected unfinished, e.g. after an early ``break`` without
``with`` (``abandoned=True``). Hooks run inside the never-raise guard: a bug in a hook
is logged and the chunk is still delivered.

``for`` / ``async for`` over the proxy run a (async) generator over the
iterator the stream itself hands to ``for``; ``next()`` / ``__anext__`` read
the same iterator, so both can be mixed. After a ``break`` out of ``async for``
without closing, asyncio closes that generator on its next turn, and the
stream ends as abandoned once the proxy is dropped.
"""

from __future__ import annotations

import atexit
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import wrapt

from ._cm import ExcType, Traceback
from ._errors import internal_errors, never_raise

__all__ = ["AsyncStreamProxy", "StreamHooks", "StreamProxy"]

if TYPE_CHECKING:
    ObjectProxy = wrapt.ObjectProxy[Any]
else:
    ObjectProxy = wrapt.ObjectProxy
_init_proxy = wrapt.ObjectProxy.__init__


class StreamHooks:
    """What a provider plugs into a stream proxy. Must not reference the proxy itself."""

    __slots__ = ()

    def on_chunk(self, chunk: Any) -> bool:
        """Look at one chunk; return False to hide it from the caller."""
        return True

    def on_end(self, error: BaseException | None, abandoned: bool) -> None:
        """The stream is over (exhausted, failed, closed or dropped). Called exactly once."""


class _Tracker(weakref.ref):  # type: ignore[type-arg]
    """A weak reference to a live proxy whose callback ends an abandoned stream.

    Cheaper to create than ``weakref.finalize`` (which is per stream, so it counts).
    Trackers are compared and hashed by identity, never through the proxied stream.
    """

    __slots__ = ("hooks",)
    hooks: StreamHooks
    __hash__ = object.__hash__
    __eq__ = object.__eq__


# The trackers of unfinished proxies. Being held here keeps a tracker (and so its
# callback) alive even when its proxy dies in a reference cycle; taking a tracker out
# is the exactly-once guard for ``on_end``.
_live: set[_Tracker] = set()


def _end_abandoned(tracker: _Tracker) -> None:
    """GC path: the proxy was collected before the stream ended."""
    try:
        _live.remove(tracker)
    except KeyError:
        return
    with internal_errors:
        tracker.hooks.on_end(None, True)


# Like weakref.finalize(atexit=False): proxies collected while the interpreter shuts
# down are not finished (the exporters may already be gone).
atexit.register(_live.clear)


def _iterator_of(wrapped: Any) -> Iterator[Any]:
    """The iterator ``for chunk in wrapped`` would use; its ``__next__`` serves ``next()``.

    For the SDK's streams ``__iter__`` is a generator over the same underlying
    iterator as ``__next__``, so the two can be mixed, and resuming it from C costs
    less per chunk than calling a Python ``__next__``.
    """
    if hasattr(type(wrapped), "__iter__") or not hasattr(type(wrapped), "__next__"):
        return iter(wrapped)
    return _calling_next(wrapped.__next__)


def _calling_next(step: Callable[[], Any]) -> Iterator[Any]:
    """Iterates an object that has ``__next__`` but no ``__iter__``."""
    while True:
        try:
            chunk = step()
        except StopIteration:
            return
        yield chunk


def _async_iterator_of(wrapped: Any) -> AsyncIterator[Any]:
    """The async iterator ``async for chunk in wrapped`` would use (see ``_iterator_of``)."""
    cls = type(wrapped)
    if hasattr(cls, "__aiter__") or not hasattr(cls, "__anext__"):
        iterator: AsyncIterator[Any] = wrapped.__aiter__()
        return iterator
    return _awaiting_anext(wrapped.__anext__)


async def _awaiting_anext(step: Callable[[], Awaitable[Any]]) -> AsyncIterator[Any]:
    """Iterates an object that has ``__anext__`` but no ``__aiter__``."""
    while True:
        try:
            chunk = await step()
        except StopAsyncIteration:
            return
        yield chunk


@never_raise(True)  # one call per chunk where ``with internal_errors`` would make three
def _shown(on_chunk: Callable[[Any], bool], chunk: Any, /) -> bool:
    """Run the hook on one chunk; a bug in it is logged and the chunk still delivered."""
    return on_chunk(chunk)


class _Reading:
    """One ``for`` / ``async for`` loop over a proxy: ends the stream when the loop's
    source is exhausted (``None``) or raises (that error).

    An exception raised while a chunk is with the caller (``at_yield``) was thrown in
    at the ``yield`` (``close()``, ``throw()``, a ``break`` collected): not the
    stream's, so it ends nothing; the proxy itself may still be read or closed.
    """

    __slots__ = ("at_yield", "end")

    def __init__(self, end: Callable[[BaseException | None], None]) -> None:
        self.end = end
        self.at_yield = False

    def __enter__(self) -> _Reading:
        return self

    def __exit__(self, exc_type: ExcType, exc: BaseException | None, tb: Traceback) -> None:
        if not self.at_yield:
            self.end(exc)


class _ProxyBase(ObjectProxy):
    """State and the exactly-once ending shared by the sync and async proxies."""

    # How a subclass reads the stream: ``_iterator_of`` or ``_async_iterator_of``.
    _self_iterator_of: Callable[[Any], Any]

    def __init__(self, wrapped: Any, hooks: StreamHooks) -> None:
        _init_proxy(self, wrapped)  # not super(): this runs once per stream
        self._self_hooks = hooks
        self._self_iterator = self._self_iterator_of(wrapped)
        tracker = _Tracker(self, _end_abandoned)
        tracker.hooks = hooks
        _live.add(tracker)
        self._self_tracker: _Tracker | None = tracker

    def _self_end(self, error: BaseException | None) -> None:
        """Finish now (idempotent): the stream ended, failed or was closed."""
        try:
            _live.remove(self._self_tracker)  # type: ignore[arg-type]
        except KeyError:
            return
        # Dropping the tracker now spares its callback (and a KeyError) when the proxy dies.
        self._self_tracker = None
        with internal_errors:
            if isinstance(error, GeneratorExit):
                # The generator reading this stream was closed: its caller stopped reading
                # (e.g. langchain-openai's ``with stream:`` in a model stream closed early).
                self._self_hooks.on_end(None, True)
            else:
                self._self_hooks.on_end(error, False)

    def _self_stop(self, error: BaseException) -> None:
        """``next()`` / ``__anext__`` raised ``error``: the stream is over, one way or the other."""
        self._self_end(None if isinstance(error, (StopIteration, StopAsyncIteration)) else error)

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

    _self_iterator_of = staticmethod(_iterator_of)

    def __iter__(self) -> Iterator[Any]:
        # ``for`` loops get a generator over the same underlying iterator: resuming it
        # costs less per chunk than a Python ``__next__`` called through the type slot.
        # ``next(proxy)`` still works, and both can be mixed.
        on_chunk = self._self_hooks.on_chunk
        with _Reading(self._self_end) as reading:
            for chunk in self._self_iterator:
                if _shown(on_chunk, chunk):
                    reading.at_yield = True
                    yield chunk
                    reading.at_yield = False

    def __next__(self) -> Any:
        while True:
            try:
                chunk = self._self_iterator.__next__()
            except BaseException as exc:
                self._self_stop(exc)
                raise
            if _shown(self._self_hooks.on_chunk, chunk):
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

    def __exit__(self, exc_type: ExcType, exc: BaseException | None, tb: Traceback) -> bool | None:
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

    _self_iterator_of = staticmethod(_async_iterator_of)

    async def __aiter__(self) -> AsyncIterator[Any]:
        # As for sync streams: ``async for`` gets an async generator over the same
        # underlying iterator (no coroutine per chunk); ``__anext__`` still works.
        on_chunk = self._self_hooks.on_chunk
        with _Reading(self._self_end) as reading:
            async for chunk in self._self_iterator:
                if _shown(on_chunk, chunk):
                    reading.at_yield = True
                    yield chunk
                    reading.at_yield = False

    async def __anext__(self) -> Any:
        while True:
            try:
                chunk = await self._self_iterator.__anext__()
            except BaseException as exc:
                self._self_stop(exc)
                raise
            if _shown(self._self_hooks.on_chunk, chunk):
                return chunk

    async def close(self) -> None:
        try:
            await self._self_close_wrapped()
        finally:
            self._self_end(None)

    async def _self_close_wrapped(self) -> None:
        wrapped = self.__wrapped__
        closer = getattr(wrapped, "close", None) or getattr(wrapped, "aclose", None)
        if closer is not None:
            result = closer()
            if hasattr(result, "__await__"):
                await result

    async def aclose(self) -> None:
        await self.close()

    async def __aenter__(self) -> AsyncStreamProxy:
        enter = getattr(self.__wrapped__, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(
        self, exc_type: ExcType, exc: BaseException | None, tb: Traceback
    ) -> bool | None:
        try:
            exit_ = getattr(self.__wrapped__, "__aexit__", None)
            if exit_ is not None:
                return await exit_(exc_type, exc, tb)  # type: ignore[no-any-return]
            await self._self_close_wrapped()
            return None
        finally:
            self._self_end(exc)
