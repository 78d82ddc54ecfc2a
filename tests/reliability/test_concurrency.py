"""Concurrency: 1,000 asyncio tasks and 32 threads, each running decorated functions, an
OpenAI call and a LangChain chain. Every span has the right parent and trace, the span
count is exact, and no context leaks ("Failed to detach context" is never logged).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan

import llmtrace
from llmtrace import semconv
from llmtrace.testing import SpanCapture
from tests.support.reliability import ANSWER, SOAK_SCALE, Figures, openai_client

pytest.importorskip("openai")
pytest.importorskip("langchain_core")

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

REPLY = AIMessage(
    content="chain says hi",
    usage_metadata={"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
    response_metadata={"model_name": "fake-1", "finish_reason": "stop"},
)


def make_chain() -> Any:
    # One model for all tasks: the cycle never runs dry and next() on it is atomic.
    model = GenericFakeChatModel(messages=itertools.cycle([REPLY]))
    return ChatPromptTemplate.from_messages([("user", "{q}")]) | model | StrOutputParser()


@pytest.fixture
def context_failures(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Records of OpenTelemetry's "Failed to detach context" (and anything else it logs)."""
    caplog.set_level(logging.DEBUG, logger="opentelemetry.context")
    records: list[logging.LogRecord] = []
    yield records
    records.extend(r for r in caplog.records if r.name.startswith("opentelemetry.context"))
    assert not records, [r.getMessage() for r in records]
    assert not trace.get_current_span().get_span_context().is_valid  # nothing left current


# -- the workload, async and sync ------------------------------------------------------------


@llmtrace.trace(name="handle", kind="workflow")
async def handle_async(i: int, client: Any, chain: Any) -> tuple[str, str]:
    await asyncio.sleep(0)
    answer = await ask_step_async(i, client)
    await asyncio.sleep(0)
    said = await chain.ainvoke({"q": f"question {i}"})
    return answer, said


@llmtrace.trace(name="ask")
async def ask_step_async(i: int, client: Any) -> str:
    await asyncio.sleep(0)
    response = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"q{i}"}]
    )
    await asyncio.sleep(0)
    return str(response.choices[0].message.content)


@llmtrace.trace(name="handle", kind="workflow")
def handle_sync(i: int, client: Any, chain: Any) -> tuple[str, str]:
    answer = ask_step_sync(i, client)
    return answer, chain.invoke({"q": f"question {i}"})


@llmtrace.trace(name="ask")
def ask_step_sync(i: int, client: Any) -> str:
    response = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"q{i}"}]
    )
    return str(response.choices[0].message.content)


def check_traces(spans: list[ReadableSpan], units: int) -> int:
    """Each unit of work (one session id) is one trace with the expected shape."""
    by_session: dict[Any, list[ReadableSpan]] = defaultdict(list)
    for span in spans:
        by_session[(span.attributes or {}).get(semconv.SESSION_ID)].append(span)
    assert None not in by_session, "a span lost its session scope"
    assert len(by_session) == units
    shapes = set()
    for group in by_session.values():
        ids = {s.context.span_id: s for s in group if s.context}
        assert len({s.context.trace_id for s in group if s.context}) == 1  # one trace
        roots = [s for s in group if s.parent is None]
        assert [r.name for r in roots] == ["invoke_workflow handle"]
        for span in group:
            if span.parent is not None:
                assert span.parent.span_id in ids, f"{span.name}: parent in another unit"
        parent_of = {s.name: ids[s.parent.span_id].name for s in group if s.parent}
        assert parent_of["ask"] == "invoke_workflow handle"
        assert parent_of["chat gpt-4o-mini"] == "ask"  # the OpenAI span under its caller
        llm = [s for s in group if s.kind.name == "CLIENT"]
        assert len(llm) == 2  # the OpenAI call and the chain's model
        shapes.add(tuple(sorted(s.name for s in group)))
    assert len(shapes) == 1, shapes  # every unit produced exactly the same spans
    return len(next(iter(shapes)))


@pytest.mark.usefixtures("instrumented")
def test_1000_concurrent_asyncio_tasks_each_get_their_own_trace(
    captured: SpanCapture, context_failures: list[logging.LogRecord]
) -> None:
    tasks = 1000
    chain = make_chain()

    async def main() -> list[tuple[str, str]]:
        client = openai_client(asynchronous=True)

        async def unit(i: int) -> tuple[str, str]:
            with llmtrace.session(session_id=f"task-{i}"):
                return await handle_async(i, client, chain)

        return await asyncio.gather(*(unit(i) for i in range(tasks)))

    results = asyncio.run(main())
    assert results == [(ANSWER, "chain says hi")] * tasks
    per_unit = check_traces(captured.spans, tasks)
    assert len(captured.spans) == tasks * per_unit  # exact: nothing lost, nothing doubled
    Figures.record("concurrency.asyncio", {"tasks": tasks, "spans": len(captured.spans)})


@pytest.mark.usefixtures("instrumented")
def test_32_threads_each_get_their_own_traces(
    captured: SpanCapture, context_failures: list[logging.LogRecord]
) -> None:
    threads, per_thread = 32, 20
    chain = make_chain()
    # langchain-core fills a prompt's serialised form lazily and not thread-safely (a
    # cached_property, unlocked on Python 3.12+); a first call before the threads start,
    # as an application's warm-up would, keeps that race of its own out of this test.
    chain.invoke({"q": "warm-up"})
    captured.clear()
    client = openai_client()
    start = threading.Barrier(threads)

    def worker(t: int) -> list[tuple[str, str]]:
        start.wait()
        out = []
        for j in range(per_thread):
            with llmtrace.session(session_id=f"thread-{t}-{j}"):
                out.append(handle_sync(t * per_thread + j, client, chain))
        return out

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = [r for batch in pool.map(worker, range(threads)) for r in batch]
    assert results == [(ANSWER, "chain says hi")] * (threads * per_thread)
    per_unit = check_traces(captured.spans, threads * per_thread)
    assert len(captured.spans) == threads * per_thread * per_unit
    Figures.record(
        "concurrency.threads",
        {"threads": threads, "units": threads * per_thread, "spans": len(captured.spans)},
    )


@pytest.mark.soak
@pytest.mark.usefixtures("instrumented")
def test_soak_many_more_concurrent_tasks(
    captured: SpanCapture, context_failures: list[logging.LogRecord]
) -> None:
    tasks = max(1000, int(20_000 * SOAK_SCALE))
    chain = make_chain()

    async def main() -> None:
        client = openai_client(asynchronous=True)

        async def unit(i: int) -> None:
            with llmtrace.session(session_id=f"task-{i}"):
                await handle_async(i, client, chain)

        for wave in range(0, tasks, 1000):
            await asyncio.gather(*(unit(i) for i in range(wave, min(tasks, wave + 1000))))

    asyncio.run(main())
    per_unit = check_traces(captured.spans, tasks)
    assert len(captured.spans) == tasks * per_unit
