"""session(): session, user, tags and metadata on every span, across await, threads and pools."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from opentelemetry import trace
from opentelemetry.propagate import extract, inject

import llmtrace
from llmtrace.testing import SpanCapture


@llmtrace.trace(name="work")
def work() -> None:
    return None


def test_every_span_inside_gets_the_session(captured: SpanCapture) -> None:
    with llmtrace.session(session_id="s-1", user_id="u-1", tags=["beta"], metadata={"plan": "pro"}):
        work()
        with llmtrace.span("manual"):
            pass
    for name in ("work", "manual"):
        attributes = captured.find(name).attributes
        assert attributes["session.id"] == "s-1"
        assert attributes["user.id"] == "u-1"
        assert attributes["llmtrace.tags"] == ("beta",)
        assert attributes["llmtrace.metadata.plan"] == "pro"


def test_spans_outside_the_block_do_not(captured: SpanCapture) -> None:
    with llmtrace.session(session_id="s-1"):
        pass
    work()
    assert "session.id" not in captured.find("work").attributes


def test_spans_from_other_instrumentations_get_it_too(captured: SpanCapture) -> None:
    tracer = captured.tracer_provider.get_tracer("someone-else")
    with llmtrace.session(user_id="u-9"):
        tracer.start_span("foreign").end()
    assert captured.find("foreign").attributes["user.id"] == "u-9"


def test_nested_sessions_merge(captured: SpanCapture) -> None:
    with llmtrace.session(session_id="s-1", tags=["a"], metadata={"x": 1, "y": 1}):
        with llmtrace.session(user_id="u-2", tags=["b"], metadata={"y": 2}) as scope:
            work()
    assert scope.session_id == "s-1"
    attributes = captured.find("work").attributes
    assert attributes["session.id"] == "s-1"
    assert attributes["user.id"] == "u-2"
    assert attributes["llmtrace.tags"] == ("a", "b")
    assert attributes["llmtrace.metadata.x"] == 1
    assert attributes["llmtrace.metadata.y"] == 2


async def test_session_follows_await_and_tasks(captured: SpanCapture) -> None:
    async def handle(session_id: str) -> None:
        with llmtrace.session(session_id=session_id):
            await asyncio.sleep(0.001)
            await asyncio.create_task(asyncio.to_thread(work))
            work()

    await asyncio.gather(*(handle(f"s-{i}") for i in range(10)))
    sessions = sorted(s.attributes["session.id"] for s in captured.by_name("work"))
    assert sessions == sorted([f"s-{i}" for i in range(10)] * 2)


def test_threads_started_with_a_copied_context(captured: SpanCapture) -> None:
    with llmtrace.session(session_id="s-t"):
        ctx = contextvars.copy_context()
        thread = threading.Thread(target=ctx.run, args=(work,))
        thread.start()
        thread.join()
    assert captured.find("work").attributes["session.id"] == "s-t"


def test_executor_helper_carries_session_and_parent(captured: SpanCapture) -> None:
    with (
        llmtrace.session(session_id="s-pool"),
        llmtrace.span("fan_out") as parent,
        llmtrace.ContextThreadPoolExecutor(max_workers=4) as pool,
    ):
        list(pool.map(lambda _: work(), range(8)))
        pool.submit(llmtrace.bind_context(work)).result()
    spans = captured.by_name("work")
    assert len(spans) == 9
    assert {s.attributes["session.id"] for s in spans} == {"s-pool"}
    assert {s.parent.span_id for s in spans} == {parent.span_context.span_id}


def test_propagate_sends_session_and_user_downstream_as_baggage(captured: SpanCapture) -> None:
    carrier: dict[str, str] = {}
    with llmtrace.session(session_id="s-up", user_id="u-up", propagate=True):
        with llmtrace.span("client call"):
            inject(carrier)  # what an HTTP client instrumentation does
    assert "baggage" in carrier

    # The downstream service: its server instrumentation extracts the context.
    downstream_ctx = extract(carrier)
    tracer = captured.tracer_provider.get_tracer("server")
    tracer.start_span("handle request", context=downstream_ctx).end()
    server_span = captured.find("handle request")
    assert server_span.attributes["session.id"] == "s-up"
    assert server_span.attributes["user.id"] == "u-up"
    assert server_span.context.trace_id == captured.find("client call").context.trace_id


def test_without_propagate_nothing_is_put_in_baggage(captured: SpanCapture) -> None:
    carrier: dict[str, str] = {}
    with llmtrace.session(session_id="s-private"):
        inject(carrier)
    assert "baggage" not in carrier
    assert trace.get_current_span() is trace.INVALID_SPAN
