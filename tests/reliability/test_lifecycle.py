"""Lifecycle: streams abandoned half-way, generators never exhausted, tasks cancelled.
Every span that starts also ends, and memory returns to baseline.

Memory is measured with tracemalloc in the same run as a ratio: what many thousands of
operations leave behind, against what the finished spans of a single operation take. A
leak of even a small object per operation would exceed the bound by orders of magnitude.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import threading
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider

import llmtrace
from llmtrace._runtime import runtime
from llmtrace._session_processor import ContextAttributesProcessor
from llmtrace.testing import capture_spans
from tests.support.reliability import SOAK_SCALE, Figures, OpenAIHandler, ask, openai_client

pytest.importorskip("openai")
pytest.importorskip("langchain_core")

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

LEAK_BOUND_IN_OPERATIONS = 50  # growth allowed, in units of one operation's spans


class Counting(SpanProcessor):
    """Counts spans started and ended; keeps none (so memory reflects only leaks)."""

    def __init__(self) -> None:
        self.started = 0
        self.ended = 0
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        with self._lock:
            self.started += 1

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            self.ended += 1


@contextmanager
def counting_spans() -> Iterator[Counting]:
    counting = Counting()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(ContextAttributesProcessor())
    provider.add_span_processor(counting)
    saved = runtime.tracer_provider, runtime.capture_content
    runtime.tracer_provider, runtime.capture_content = provider, True
    runtime.reset_tracer_cache()
    try:
        yield counting
    finally:
        runtime.tracer_provider, runtime.capture_content = saved
        runtime.reset_tracer_cache()


def traced_bytes(run: Callable[[], None]) -> int:
    """Bytes still allocated after ``run()`` that were not before (garbage collected)."""
    gc.collect()
    tracemalloc.start()
    try:
        gc.collect()
        before, _ = tracemalloc.get_traced_memory()
        run()
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return after - before


# -- operations (each leaves something unfinished behind) -------------------------------------


@llmtrace.trace(name="produce")
def produce(n: int) -> Iterator[int]:
    yield from range(n)


@llmtrace.trace(name="produce_async")
async def produce_async(n: int) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        yield i


@llmtrace.trace(name="wait_forever")
async def wait_forever(event: asyncio.Event) -> None:
    with llmtrace.span("inner"):
        await event.wait()


def abandon_generators(n: int) -> None:
    for _ in range(n):
        stream = produce(10)
        assert next(stream) == 0
        del stream  # never exhausted, never closed


def abandon_async_generators(n: int) -> None:
    async def main() -> None:
        for _ in range(n):
            stream = produce_async(10)
            assert await stream.__anext__() == 0
            del stream
            await asyncio.sleep(0)  # the loop's finaliser closes it

    asyncio.run(main())


def cancel_tasks(n: int) -> None:
    async def main() -> None:
        event = asyncio.Event()
        for _ in range(n):
            task = asyncio.ensure_future(wait_forever(event))
            await asyncio.sleep(0)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())


_client: Any = None


def abandon_openai_streams(n: int) -> None:
    global _client
    _client = _client or openai_client(OpenAIHandler(keep=False))
    for _ in range(n):
        stream = ask(_client, stream=True)
        next(iter(stream))
        del stream  # half-way, no close(), no with


_model = GenericFakeChatModel(messages=itertools.cycle([AIMessage(content="a b c d e f")]))


def abandon_langchain_streams(n: int) -> None:
    for _ in range(n):
        chunks = _model.stream("hi")
        next(chunks)
        del chunks


OPERATIONS: dict[str, tuple[Callable[[int], None], int]] = {
    "generator abandoned": (abandon_generators, 10_000),
    "async generator abandoned": (abandon_async_generators, 2_000),
    "task cancelled": (cancel_tasks, 1_500),
    "OpenAI stream abandoned": (abandon_openai_streams, 300),
    "LangChain stream abandoned": (abandon_langchain_streams, 300),
}


def check_operation(name: str, count: int) -> None:
    run, _ = OPERATIONS[name]
    with capture_spans(capture_content=True):
        run(100)  # warm-up, traced: imports, price tables, caches, connection pools
    with capture_spans(capture_content=True) as captured:
        per_operation = traced_bytes(lambda: run(100)) / 100  # finished spans held in memory
        assert captured.spans and all(s.end_time is not None for s in captured.spans)

    with counting_spans() as counting:
        run(100)
        growth = traced_bytes(lambda: run(count))
        gc.collect()
        assert counting.started == counting.ended > 0  # every span that started, ended
    Figures.record(
        f"lifecycle.{name}",
        {
            "operations": count,
            "spans": counting.ended,
            "bytes_per_operation_spans": round(per_operation),
            "growth_bytes": growth,
        },
    )
    assert growth < LEAK_BOUND_IN_OPERATIONS * per_operation, (growth, per_operation)


@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_unfinished_work_ends_its_spans_and_leaves_no_memory_behind(name: str) -> None:
    check_operation(name, OPERATIONS[name][1])


@pytest.mark.soak
@pytest.mark.usefixtures("instrumented")
@pytest.mark.parametrize("name", list(OPERATIONS))
def test_soak_unfinished_work_over_100k_operations(name: str) -> None:
    base = OPERATIONS[name][1]
    check_operation(name, max(base, int(base * 10 * SOAK_SCALE)))
