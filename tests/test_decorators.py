"""@llmtrace.trace: one span per call, values and exceptions untouched, every function shape."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Sampler
from opentelemetry.trace import StatusCode

import llmtrace
from llmtrace import _spans as spans
from llmtrace.testing import SpanCapture, capture_spans


@llmtrace.trace
def add_one(x: int) -> int:
    """Adds one."""
    return x + 1


def test_a_call_makes_one_span_named_after_the_function(captured: SpanCapture) -> None:
    assert add_one(1) == 2
    span = captured.find("add_one")
    assert span.attributes["llmtrace.span.kind"] == "task"
    assert span.status.status_code is StatusCode.UNSET


def test_content_is_not_captured_by_default(captured: SpanCapture) -> None:
    add_one(41)
    attributes = captured.find("add_one").attributes
    assert "llmtrace.input" not in attributes
    assert "llmtrace.output" not in attributes


def test_content_capture_records_named_arguments_and_result(captured_content: SpanCapture) -> None:
    @llmtrace.trace
    def greet(name: str, punctuation: str = "!", *rest: str, **options: int) -> str:
        return f"hi {name}{punctuation}"

    greet("ada", "?", "x", loud=1)
    span = captured_content.find(
        "test_content_capture_records_named_arguments_and_result.<locals>.greet"
    )
    assert json.loads(span.attributes["llmtrace.input"]) == {
        "name": "ada",
        "punctuation": "?",
        "rest": ["x"],
        "loud": 1,
    }
    assert json.loads(span.attributes["llmtrace.output"]) == "hi ada?"


def test_per_decorator_capture_overrides_the_global_setting(captured: SpanCapture) -> None:
    @llmtrace.trace(name="lookup", capture_input=True, capture_output=False)
    def lookup(key: str) -> str:
        return "secret value"

    lookup("k")
    attributes = captured.find("lookup").attributes
    assert json.loads(attributes["llmtrace.input"]) == {"key": "k"}
    assert "llmtrace.output" not in attributes


def test_return_value_passes_through_untouched(captured: SpanCapture) -> None:
    sentinel = object()

    @llmtrace.trace
    def give() -> object:
        return sentinel

    assert give() is sentinel


def test_the_users_exception_propagates_unchanged_and_is_recorded(captured: SpanCapture) -> None:
    error = KeyError("missing")

    @llmtrace.trace(name="fails")
    def fails() -> None:
        raise error

    with pytest.raises(KeyError) as raised:
        fails()
    assert raised.value is error
    span = captured.find("fails")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "KeyError"
    assert span.attributes["llmtrace.span.kind"] == "task"  # written at the end, on errors too
    assert [e.name for e in span.events] == ["exception"]


def test_signature_and_metadata_are_preserved() -> None:
    assert add_one.__name__ == "add_one"
    assert add_one.__doc__ == "Adds one."
    assert str(inspect.signature(add_one)) == "(x: 'int') -> 'int'"


def test_kinds_map_onto_genai_operations_and_span_names(captured: SpanCapture) -> None:
    @llmtrace.trace(kind="tool", name="get_weather")
    def tool() -> str:
        return "sunny"

    @llmtrace.trace(kind="agent", name="planner")
    def agent() -> str:
        return tool()

    @llmtrace.trace(kind="workflow", name="support")
    def workflow() -> str:
        return agent()

    workflow()
    assert captured.find("execute_tool get_weather").attributes["gen_ai.operation.name"] == (
        "execute_tool"
    )
    assert captured.find("execute_tool get_weather").attributes["gen_ai.tool.name"] == "get_weather"
    assert captured.find("invoke_agent planner").attributes["gen_ai.agent.name"] == "planner"
    root = captured.find("invoke_workflow support")
    assert root.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert root.attributes["gen_ai.workflow.name"] == "support"


def test_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        llmtrace.trace(kind="banana")  # type: ignore[call-overload]


def test_tool_content_uses_the_conventions_tool_call_keys(captured_content: SpanCapture) -> None:
    @llmtrace.trace(kind="tool", name="search")
    def search(query: str) -> list[str]:
        return ["a"]

    search("otel")
    attributes = captured_content.find("execute_tool search").attributes
    assert json.loads(attributes["gen_ai.tool.call.arguments"]) == {"query": "otel"}
    assert json.loads(attributes["gen_ai.tool.call.result"]) == ["a"]


def test_nested_calls_form_a_tree(captured: SpanCapture) -> None:
    @llmtrace.trace(name="outer")
    def outer() -> int:
        return add_one(1) + add_one(2)

    outer()
    root = captured.find("outer")
    assert [s.name for s in captured.children(root)] == ["add_one", "add_one"]
    assert {s.context.trace_id for s in captured.spans} == {root.context.trace_id}


class Service:
    factor = 10

    @llmtrace.trace
    def method(self, x: int) -> int:
        return x * self.factor

    @llmtrace.trace
    @classmethod
    def klass(cls, x: int) -> int:
        return x * cls.factor

    @llmtrace.trace
    @staticmethod
    def static(x: int) -> int:
        return x


def test_methods_classmethods_and_staticmethods(captured_content: SpanCapture) -> None:
    service = Service()
    assert service.method(2) == 20
    assert Service.method(service, 3) == 30
    assert Service.klass(4) == 40
    assert service.klass(5) == 50
    assert Service.static(6) == 6
    inputs = [json.loads(s.attributes["llmtrace.input"]) for s in captured_content.spans]
    assert inputs == [{"x": 2}, {"x": 3}, {"x": 4}, {"x": 5}, {"x": 6}]
    assert captured_content.names() == [
        "Service.method",
        "Service.method",
        "Service.klass",
        "Service.klass",
        "Service.static",
    ]


async def test_async_function(captured_content: SpanCapture) -> None:
    @llmtrace.trace(name="fetch")
    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        return add_one(x)

    assert inspect.iscoroutinefunction(fetch)
    assert await fetch(1) == 2
    root = captured_content.find("fetch")
    assert root.attributes["llmtrace.output"] == "2"
    assert [s.name for s in captured_content.children(root)] == ["add_one"]


async def test_async_exception_propagates(captured: SpanCapture) -> None:
    @llmtrace.trace(name="boom")
    async def boom() -> None:
        raise RuntimeError("nope")

    with pytest.raises(RuntimeError, match="nope"):
        await boom()
    assert captured.find("boom").status.status_code is StatusCode.ERROR


async def test_concurrent_tasks_keep_their_own_parents(captured: SpanCapture) -> None:
    @llmtrace.trace(name="child")
    async def child() -> None:
        await asyncio.sleep(0.001)

    @llmtrace.trace(name="parent")
    async def parent() -> None:
        await asyncio.gather(child(), child())

    await asyncio.gather(*(parent() for _ in range(20)))
    parents = captured.by_name("parent")
    assert len(parents) == 20
    for p in parents:
        kids = captured.children(p)
        assert [k.name for k in kids] == ["child", "child"]
        assert all(k.context.trace_id == p.context.trace_id for k in kids)
    assert len({p.context.trace_id for p in parents}) == 20


def test_generator_span_covers_the_whole_iteration(captured_content: SpanCapture) -> None:
    @llmtrace.trace(name="numbers")
    def numbers(n: int) -> Iterator[int]:
        for i in range(n):
            yield add_one(i)

    iterator = numbers(3)
    assert captured_content.spans == []  # nothing ends until the generator does
    assert list(iterator) == [1, 2, 3]
    root = captured_content.find("numbers")
    assert json.loads(root.attributes["llmtrace.output"]) == [1, 2, 3]
    # Work done inside the generator nests under its span...
    assert [s.name for s in captured_content.children(root)] == ["add_one"] * 3


def test_generator_span_is_not_current_for_the_consumer(captured: SpanCapture) -> None:
    @llmtrace.trace(name="producer")
    def producer() -> Iterator[int]:
        yield 1
        yield 2

    for _ in producer():
        add_one(0)  # ...but the consumer's work does not.
    assert all(s.parent is None for s in captured.by_name("add_one"))


def test_generator_closed_early_ends_its_span_once(captured: SpanCapture) -> None:
    closed = []

    @llmtrace.trace(name="endless")
    def endless() -> Iterator[int]:
        try:
            while True:
                yield 1
        finally:
            closed.append(True)

    for value in endless():
        if value:
            break
    assert closed == [True]
    (span,) = captured.by_name("endless")
    assert span.attributes["llmtrace.span.kind"] == "task"


def test_generator_return_value_and_send_pass_through(captured: SpanCapture) -> None:
    @llmtrace.trace(name="echo")
    def echo() -> Iterator[int]:
        received = yield 0
        yield received * 2
        return

    gen = echo()
    assert next(gen) == 0
    assert gen.send(21) == 42
    with pytest.raises(StopIteration):
        next(gen)
    assert len(captured.by_name("echo")) == 1


def test_exception_thrown_into_a_generator_is_forwarded(captured: SpanCapture) -> None:
    @llmtrace.trace(name="resilient")
    def resilient() -> Iterator[str]:
        try:
            yield "first"
        except ValueError:
            yield "recovered"

    gen = resilient()
    assert next(gen) == "first"
    assert gen.throw(ValueError("x")) == "recovered"
    gen.close()
    assert captured.find("resilient").status.status_code is StatusCode.UNSET


def test_generator_error_is_recorded_and_propagates(captured: SpanCapture) -> None:
    @llmtrace.trace(name="broken")
    def broken() -> Iterator[int]:
        yield 1
        raise LookupError("gone")

    with pytest.raises(LookupError):
        list(broken())
    assert captured.find("broken").attributes["error.type"] == "LookupError"


async def test_async_generator(captured_content: SpanCapture) -> None:
    @llmtrace.trace(name="ticks")
    async def ticks(n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    assert inspect.isasyncgenfunction(ticks)
    assert [i async for i in ticks(3)] == [0, 1, 2]
    assert json.loads(captured_content.find("ticks").attributes["llmtrace.output"]) == [0, 1, 2]


async def test_async_generator_closed_early(captured: SpanCapture) -> None:
    @llmtrace.trace(name="stream")
    async def stream() -> AsyncIterator[int]:
        while True:
            yield 1

    gen = stream()
    async for _ in gen:
        break
    await gen.aclose()
    assert len(captured.by_name("stream")) == 1


def test_no_spans_and_unchanged_behaviour_when_tracing_is_off() -> None:
    # No init(), no provider: the decorator is a pass-through.
    assert add_one(1) == 2
    with pytest.raises(ZeroDivisionError):
        llmtrace.trace(lambda: 1 / 0)()


def test_suppressed_instrumentation_gives_no_spans(captured: SpanCapture) -> None:
    with suppress_instrumentation():
        assert add_one(1) == 2
    assert captured.spans == []


@pytest.mark.parametrize("sampler", [None, ALWAYS_OFF])
def test_a_sampler_that_drops_costs_no_content_work(
    monkeypatch: pytest.MonkeyPatch, sampler: Sampler | None
) -> None:
    serialised: list[object] = []

    def counting(value: object) -> str:
        serialised.append(value)
        return "x"

    monkeypatch.setattr(spans, "content_attribute", counting)
    with capture_spans(capture_content=True, sampler=sampler) as captured:
        assert add_one(1) == 2
    if sampler is ALWAYS_OFF:
        assert captured.spans == []
        assert serialised == []
    else:  # the control: a recording span does serialise input and output
        assert len(captured.spans) == 1
        assert serialised == [{"x": 1}, 2]


@pytest.mark.usefixtures("lenient")
def test_an_internal_error_is_swallowed_and_the_call_still_works(
    captured_content: SpanCapture, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(value: object) -> str:
        raise RuntimeError("bug in llmtrace")

    monkeypatch.setattr(spans, "content_attribute", broken)
    assert add_one(1) == 2
    assert captured_content.find("add_one").attributes["llmtrace.span.kind"] == "task"
    assert "llmtrace internal error" in caplog.text


def test_input_is_recorded_as_it_was_when_the_call_started(captured_content: SpanCapture) -> None:
    @llmtrace.trace
    def consume(items: list[int]) -> int:
        total = sum(items)
        items.clear()  # the function mutates its argument; the span keeps what it was given
        return total

    assert consume([1, 2, 3]) == 6
    span = captured_content.find(
        "test_input_is_recorded_as_it_was_when_the_call_started.<locals>.consume"
    )
    assert json.loads(span.attributes["llmtrace.input"]) == {"items": [1, 2, 3]}
    assert json.loads(span.attributes["llmtrace.output"]) == 6


def test_samplers_see_the_genai_operation_of_agent_and_tool_spans_at_start() -> None:
    seen: list[dict[str, object]] = []

    class Recording(Sampler):
        def should_sample(
            self,
            parent_context,
            trace_id,
            name,
            kind=None,
            attributes=None,
            links=None,
            trace_state=None,
        ):  # type: ignore[no-untyped-def]
            from opentelemetry.sdk.trace.sampling import ALWAYS_ON

            seen.append(dict(attributes or {}))
            return ALWAYS_ON.should_sample(parent_context, trace_id, name, kind, attributes, links)

        def get_description(self) -> str:
            return "recording"

    @llmtrace.trace(kind="tool", name="lookup")
    def lookup(key: str) -> str:
        return key

    with capture_spans(sampler=Recording()) as captured:
        lookup("k")
    assert seen == [{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"}]
    assert captured.find("execute_tool lookup").attributes["llmtrace.span.kind"] == "tool"
