"""The generic stream proxy over plain iterators: every way a stream is consumed ends it once."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from llmtrace import _streams as streams
from llmtrace._streams import AsyncStreamProxy, StreamHooks, StreamProxy

HIDDEN = "hidden"


class Recorder(StreamHooks):
    """Records what the proxy reports; hides the chunk ``HIDDEN``; may fail on one chunk."""

    __slots__ = ("ends", "fail_on", "seen")

    def __init__(self, fail_on: Any = None) -> None:
        self.seen: list[Any] = []
        self.ends: list[tuple[BaseException | None, bool]] = []
        self.fail_on = fail_on

    def on_chunk(self, chunk: Any) -> bool:
        if chunk == self.fail_on:
            raise RuntimeError("hook bug")
        self.seen.append(chunk)
        return chunk != HIDDEN

    def on_end(self, error: BaseException | None, abandoned: bool) -> None:
        self.ends.append((error, abandoned))


class Source:
    """A stream like the SDK's: ``__next__`` plus an ``__iter__`` generator over one iterator."""

    def __init__(self, items: list[Any], error: BaseException | None = None) -> None:
        self._iterator = self._produce(items, error)
        self.closed = False

    @staticmethod
    def _produce(items: list[Any], error: BaseException | None) -> Iterator[Any]:
        yield from items
        if error is not None:
            raise error

    def __next__(self) -> Any:
        return next(self._iterator)

    def __iter__(self) -> Iterator[Any]:
        yield from self._iterator

    def close(self) -> None:
        self.closed = True


class NextOnly:
    """An iterator that defines ``__next__`` but no ``__iter__``."""

    def __init__(self, items: list[Any]) -> None:
        self.items = list(items)

    def __next__(self) -> Any:
        if not self.items:
            raise StopIteration
        return self.items.pop(0)


class AsyncSource:
    """An async stream like the SDK's: ``__anext__`` plus an ``__aiter__`` async generator."""

    def __init__(self, items: list[Any], error: BaseException | None = None) -> None:
        self._iterator = self._produce(items, error)

    @staticmethod
    async def _produce(items: list[Any], error: BaseException | None) -> AsyncIterator[Any]:
        for item in items:
            yield item
        if error is not None:
            raise error

    async def __anext__(self) -> Any:
        return await self._iterator.__anext__()

    async def __aiter__(self) -> AsyncIterator[Any]:
        async for item in self._iterator:
            yield item

    async def close(self) -> None:
        await self._iterator.aclose()


class AsyncNextOnly:
    """An async iterator that defines ``__anext__`` but no ``__aiter__``."""

    def __init__(self, items: list[Any]) -> None:
        self.items = list(items)

    async def __anext__(self) -> Any:
        if not self.items:
            raise StopAsyncIteration
        return self.items.pop(0)


# -- sync ------------------------------------------------------------------------------------


def test_a_for_loop_sees_every_chunk_but_hidden_ones_and_ends_once():
    hooks = Recorder()
    proxy = StreamProxy(Source([1, HIDDEN, 2]), hooks)
    assert list(proxy) == [1, 2]
    assert hooks.seen == [1, HIDDEN, 2]
    assert hooks.ends == [(None, False)]
    del proxy
    gc.collect()
    assert hooks.ends == [(None, False)]  # collecting a finished proxy reports nothing more


def test_a_finished_proxy_drops_its_tracker_so_collection_costs_nothing():
    proxy = StreamProxy(Source([1]), Recorder())
    tracker = proxy._self_tracker
    assert tracker in streams._live
    list(proxy)
    assert tracker not in streams._live
    assert proxy._self_tracker is None


def test_next_and_for_share_one_iterator():
    hooks = Recorder()
    proxy = StreamProxy(Source([1, 2, HIDDEN, 3]), hooks)
    assert next(proxy) == 1
    assert [chunk for chunk in proxy] == [2, 3]
    with pytest.raises(StopIteration):
        next(proxy)
    assert hooks.ends == [(None, False)]


def test_an_iterator_without_iter_is_still_iterated():
    hooks = Recorder()
    assert list(StreamProxy(NextOnly([1, HIDDEN, 2]), hooks)) == [1, 2]
    assert hooks.ends == [(None, False)]


def test_an_error_from_the_stream_reaches_the_caller_unchanged_and_ends_the_stream():
    boom = ConnectionError("dropped")
    hooks = Recorder()
    received = []
    with pytest.raises(ConnectionError) as raised:
        for chunk in StreamProxy(Source([1, 2], error=boom), hooks):
            received.append(chunk)
    assert raised.value is boom
    assert received == [1, 2]
    assert hooks.ends == [(boom, False)]


def test_an_error_through_next_ends_the_stream_too():
    boom = ConnectionError("dropped")
    hooks = Recorder()
    proxy = StreamProxy(Source([], error=boom), hooks)
    with pytest.raises(ConnectionError):
        next(proxy)
    assert hooks.ends == [(boom, False)]


def test_closing_the_loop_iterator_is_not_an_error_of_the_stream():
    hooks = Recorder()
    proxy = StreamProxy(Source([1, 2, 3]), hooks)
    iterator = iter(proxy)
    assert next(iterator) == 1
    with pytest.raises(KeyError):
        iterator.throw(KeyError("thrown in by the consumer"))  # type: ignore[attr-defined]
    iterator.close()  # type: ignore[attr-defined]
    assert hooks.ends == []  # the stream itself did not fail and is not over
    assert next(proxy) == 2  # and it can still be read
    del iterator, proxy
    gc.collect()
    assert hooks.ends == [(None, True)]


def test_break_then_drop_ends_the_stream_as_abandoned():
    hooks = Recorder()
    proxy = StreamProxy(Source([1, 2, 3]), hooks)
    for _ in proxy:
        break
    assert hooks.ends == []
    del proxy
    gc.collect()
    assert hooks.ends == [(None, True)]


def test_close_and_with_exit_end_the_stream_once():
    hooks = Recorder()
    source = Source([1, 2])
    with StreamProxy(source, hooks) as proxy:
        next(proxy)
        proxy.close()
    assert source.closed
    assert hooks.ends == [(None, False)]


def test_a_reader_closed_inside_with_abandons_the_stream_without_an_error():
    # langchain-openai reads the SDK stream in a generator, inside ``with stream:``;
    # closing that generator early sends GeneratorExit through the ``with`` exit.
    hooks = Recorder()
    source = Source([1, 2, 3])

    def reader() -> Iterator[Any]:
        with StreamProxy(source, hooks) as proxy:
            yield from proxy

    chunks = reader()
    assert next(chunks) == 1
    chunks.close()
    assert source.closed
    assert hooks.ends == [(None, True)]


def test_a_hook_bug_is_swallowed_and_the_chunk_still_delivered(lenient):
    hooks = Recorder(fail_on=2)
    assert list(StreamProxy(Source([1, 2, 3]), hooks)) == [1, 2, 3]
    proxy = StreamProxy(Source([2, 3]), Recorder(fail_on=2))
    assert next(proxy) == 2
    assert hooks.seen == [1, 3]
    assert hooks.ends == [(None, False)]


def test_a_hook_bug_fails_llmtraces_own_tests():
    with pytest.raises(RuntimeError, match="hook bug"):
        list(StreamProxy(Source([1]), Recorder(fail_on=1)))


# -- async -----------------------------------------------------------------------------------


async def test_async_for_sees_every_chunk_but_hidden_ones_and_ends_once():
    hooks = Recorder()
    proxy = AsyncStreamProxy(AsyncSource([1, HIDDEN, 2]), hooks)
    assert [chunk async for chunk in proxy] == [1, 2]
    assert hooks.seen == [1, HIDDEN, 2]
    assert hooks.ends == [(None, False)]


async def test_anext_and_async_for_share_one_iterator():
    hooks = Recorder()
    proxy = AsyncStreamProxy(AsyncSource([1, 2, HIDDEN, 3]), hooks)
    assert await proxy.__anext__() == 1
    assert [chunk async for chunk in proxy] == [2, 3]
    with pytest.raises(StopAsyncIteration):
        await proxy.__anext__()
    assert hooks.ends == [(None, False)]


async def test_an_async_iterator_without_aiter_is_still_iterated():
    hooks = Recorder()
    assert [c async for c in AsyncStreamProxy(AsyncNextOnly([1, HIDDEN, 2]), hooks)] == [1, 2]
    assert hooks.ends == [(None, False)]


async def test_an_error_from_the_async_stream_reaches_the_caller_unchanged():
    boom = ConnectionError("dropped")
    hooks = Recorder()
    with pytest.raises(ConnectionError) as raised:
        async for _ in AsyncStreamProxy(AsyncSource([1], error=boom), hooks):
            pass
    assert raised.value is boom
    assert hooks.ends == [(boom, False)]


async def test_async_break_then_drop_ends_the_stream_as_abandoned():
    hooks = Recorder()
    proxy = AsyncStreamProxy(AsyncSource([1, 2, 3]), hooks)
    async for _ in proxy:
        break
    del proxy
    # asyncio closes the suspended ``async for`` generator on its next turn; then the
    # proxy can be collected.
    for _ in range(3):
        await asyncio.sleep(0)
        gc.collect()
    assert hooks.ends == [(None, True)]


async def test_async_close_ends_the_stream_once():
    hooks = Recorder()
    proxy = AsyncStreamProxy(AsyncSource([1, 2]), hooks)
    async with proxy:
        assert await proxy.__anext__() == 1
        await proxy.close()
    assert hooks.ends == [(None, False)]


async def test_an_async_reader_closed_inside_async_with_abandons_the_stream_without_an_error():
    hooks = Recorder()

    async def reader() -> AsyncIterator[Any]:
        async with AsyncStreamProxy(AsyncSource([1, 2, 3]), hooks) as proxy:
            async for chunk in proxy:
                yield chunk

    chunks = reader()
    assert await chunks.__anext__() == 1
    await chunks.aclose()
    assert hooks.ends == [(None, True)]


async def test_an_async_hook_bug_is_swallowed_and_the_chunk_still_delivered(lenient):
    hooks = Recorder(fail_on=2)
    assert [c async for c in AsyncStreamProxy(AsyncSource([1, 2, 3]), hooks)] == [1, 2, 3]
    assert hooks.ends == [(None, False)]
