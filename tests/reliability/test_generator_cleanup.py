"""Decorated generators whose clean-up misbehaves still end their span, exactly once.

A consumer that stops early (``break``, ``close()``, ``aclose()``, garbage collection)
makes the decorator close the wrapped generator. When that generator's ``finally``
raises, or it ignores ``GeneratorExit`` (``close()`` then raises ``RuntimeError``), the
app sees the same exception as without llmtrace, and the span still ends, once, with
the error recorded.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.trace import StatusCode

import llmtrace
from llmtrace.testing import SpanCapture


class CleanupFailed(Exception):
    pass


def raising_cleanup() -> Iterator[int]:
    try:
        yield 1
        yield 2
    finally:
        raise CleanupFailed("clean-up failed")


def ignoring_exit() -> Iterator[int]:
    ignored = False
    while True:
        try:
            yield 1
        except GeneratorExit:
            if ignored:  # the second close (at garbage collection) ends it
                raise
            ignored = True  # yields again: close() raises RuntimeError


async def araising_cleanup() -> AsyncIterator[int]:
    try:
        yield 1
        yield 2
    finally:
        raise CleanupFailed("clean-up failed")


async def aignoring_exit() -> AsyncIterator[int]:
    ignored = False
    while True:
        try:
            yield 1
        except GeneratorExit:
            if ignored:
                raise
            ignored = True  # aclose() raises RuntimeError


SYNC = {"raising_cleanup": raising_cleanup, "ignoring_exit": ignoring_exit}
ASYNC = {"raising_cleanup": araising_cleanup, "ignoring_exit": aignoring_exit}
EXPECTED = {"raising_cleanup": CleanupFailed, "ignoring_exit": RuntimeError}


def _close_error(gen: Iterator[int]) -> type[BaseException] | None:
    next(gen)
    try:
        gen.close()
    except BaseException as exc:
        return type(exc)
    return None


async def _aclose_error(gen: AsyncIterator[int]) -> type[BaseException] | None:
    await gen.__anext__()
    try:
        await gen.aclose()  # type: ignore[attr-defined]
    except BaseException as exc:
        return type(exc)
    return None


def _assert_one_span_with_error(captured: SpanCapture, error: type[BaseException]) -> None:
    spans = captured.by_name("gen")
    assert len(spans) == 1, captured.names()
    assert spans[0].end_time is not None
    assert spans[0].status.status_code is StatusCode.ERROR
    assert error.__name__ in (spans[0].status.description or "") or any(
        event.name == "exception" for event in spans[0].events
    )


@pytest.mark.parametrize("kind", sorted(SYNC))
def test_a_generator_whose_close_raises_ends_its_span_once(
    kind: str, captured: SpanCapture
) -> None:
    plain = _close_error(SYNC[kind]())
    assert plain is EXPECTED[kind]
    traced = _close_error(llmtrace.trace(name="gen")(SYNC[kind])())
    assert traced is plain  # the app sees what it would without llmtrace
    _assert_one_span_with_error(captured, plain)


@pytest.mark.parametrize("kind", sorted(SYNC))
def test_a_generator_whose_close_raises_ends_its_span_when_garbage_collected(
    kind: str, captured: SpanCapture
) -> None:
    gen = llmtrace.trace(name="gen")(SYNC[kind])()
    for item in gen:
        assert item == 1
        break
    unraisable: list[object] = []
    saved = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        del gen
        gc.collect()
    finally:
        sys.unraisablehook = saved
    assert len(unraisable) == 1  # Python reports the clean-up error, as without llmtrace
    _assert_one_span_with_error(captured, EXPECTED[kind])


@pytest.mark.parametrize("kind", sorted(ASYNC))
async def test_an_async_generator_whose_aclose_raises_ends_its_span_once(
    kind: str, captured: SpanCapture
) -> None:
    plain = await _aclose_error(ASYNC[kind]())
    assert plain is EXPECTED[kind]
    traced = await _aclose_error(llmtrace.trace(name="gen")(ASYNC[kind])())
    assert traced is plain
    _assert_one_span_with_error(captured, plain)


def test_a_generator_closed_cleanly_still_ends_its_span_without_error(
    captured: SpanCapture,
) -> None:
    @llmtrace.trace(name="gen")
    def fine() -> Iterator[int]:
        yield 1
        yield 2

    gen = fine()
    assert next(gen) == 1
    gen.close()
    gen.close()  # a second close is a no-op: still one span
    spans = captured.by_name("gen")
    assert len(spans) == 1
    assert spans[0].status.status_code is StatusCode.UNSET
