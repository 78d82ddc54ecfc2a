"""Decorated functions receiving and returning hostile values: the app sees its own values
unchanged, the span ends, every attribute stays within ``max_attribute_bytes`` (UTF-8)
and every JSON attribute parses.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan

import llmtrace
from llmtrace import semconv
from llmtrace._runtime import runtime
from llmtrace.testing import SpanCapture
from tests.support.reliability import Figures


class Explodes:
    """Every dunder the serialiser might touch raises."""

    def __repr__(self) -> str:
        raise RuntimeError("repr")

    def __str__(self) -> str:
        raise RuntimeError("str")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    def __hash__(self) -> int:
        raise RuntimeError("hash")

    def __len__(self) -> int:
        raise RuntimeError("len")

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("iter")

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"getattr {name}")


class ExplodingModel:
    """Looks like a pydantic model whose model_dump raises."""

    def model_dump(self, **kwargs: Any) -> Any:
        raise ValueError("model_dump")


class EvilKey:
    def __repr__(self) -> str:
        raise RuntimeError("key repr")

    def __hash__(self) -> int:
        return 1


@dataclasses.dataclass
class Node:
    name: str
    children: list[Any]


def circular_list() -> list[Any]:
    items: list[Any] = [1, "two"]
    items.append(items)
    return items


def circular_dict() -> dict[str, Any]:
    value: dict[str, Any] = {"a": 1}
    value["self"] = value
    value["list"] = [value, {"back": value}]
    return value


def circular_dataclass() -> Node:
    node = Node("root", [])
    node.children.append(node)
    return node


def deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def deep_dict(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for i in range(depth):
        value = {f"k{i}": value}
    return value


HOSTILE: dict[str, Any] = {
    "circular list": circular_list(),
    "circular dict": circular_dict(),
    "circular dataclass": circular_dataclass(),
    "raising dunders": Explodes(),
    "raising model_dump": ExplodingModel(),
    "raising dict key": {EvilKey(): 1, (1, 2): "tuple key", None: "none key"},
    "3 MB string": "é" * 1_500_000,
    "4 MB bytes": b"\x00\xff" * 2_000_000,
    "bytearray and memoryview": [bytearray(b"x" * 100), memoryview(b"abc")],
    "deep list": deep_list(5_000),
    "deep dict": deep_dict(5_000),
    "huge int": 10**5000,
    "non-finite floats": [math.nan, math.inf, -math.inf],
    "lone surrogate": "\ud800 broken",
    "long text with lone surrogates": "\ud83d\ude00 is two halves " * 500 + "\udfff",
    "unicode zoo": "\U0001d518\U0001d52b \u202e\u0000 \u2603 \U0001f469\u200d\U0001f467",
    "set and frozenset": {1, 2, frozenset({3})},
    "type and module": [int, sys],
    "many keys": {str(i): i for i in range(20_000)},
    "long list": list(range(200_000)),
}


@llmtrace.trace(name="echo", capture_input=True, capture_output=True)
def echo(value: Any) -> Any:
    return value


@llmtrace.trace(name="consume", capture_input=True, capture_output=True)
def consume(items: Iterator[int]) -> int:
    return sum(items)


@llmtrace.trace(name="produce", capture_input=True, capture_output=True)
def produce(value: Any) -> Iterator[Any]:
    yield value
    yield value


def check_attributes(span: ReadableSpan, limit: int) -> None:
    """Every string attribute fits the budget; every JSON one parses."""
    assert span.end_time is not None
    for key, value in (span.attributes or {}).items():
        if not isinstance(value, str):
            continue
        assert len(value.encode("utf-8", "surrogatepass")) <= limit, key
        if key in (semconv.LLMTRACE_INPUT, semconv.LLMTRACE_OUTPUT):
            json.loads(value)


@pytest.mark.parametrize("limit", [256, 4096])
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_values_pass_through_untouched_and_spans_stay_bounded(
    name: str, limit: int, captured: SpanCapture
) -> None:
    runtime.max_attribute_bytes = limit
    value = HOSTILE[name]
    assert echo(value) is value
    produced = list(produce(value))
    assert len(produced) == 2 and all(item is value for item in produced)
    for span in captured.spans:
        check_attributes(span, limit)
    assert sorted(captured.names()) == ["echo", "produce"]
    assert captured.find("echo").attributes[semconv.LLMTRACE_INPUT]
    Figures.add("hostile_values.cases", 1)


def test_a_generator_argument_is_not_consumed_by_input_capture(captured: SpanCapture) -> None:
    assert consume(i for i in range(10)) == 45
    assert consume(iter(range(5))) == 10
    span = captured.by_name("consume")[0]
    check_attributes(span, runtime.max_attribute_bytes)


def test_a_generator_the_caller_never_exhausts_still_ends_its_span(
    captured: SpanCapture,
) -> None:
    stream = produce(Explodes())
    next(stream)
    del stream  # abandoned half-way: closed by garbage collection
    assert captured.names() == ["produce"]
    check_attributes(captured.spans[0], runtime.max_attribute_bytes)


def test_user_exceptions_with_hostile_messages_propagate_unchanged(
    captured: SpanCapture,
) -> None:
    class Nasty(Exception):
        def __str__(self) -> str:
            raise RuntimeError("str of the exception")

    @llmtrace.trace(name="fails")
    def fails() -> None:
        raise Nasty()

    with pytest.raises(Nasty):
        fails()
    span = captured.find("fails")
    assert span.status.status_code.name == "ERROR"
    assert span.status.description == "Nasty: <str() failed>"
    assert [event.name for event in span.events] == ["exception"]
    check_attributes(span, runtime.max_attribute_bytes)


_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=200),
    st.binary(max_size=200),
    st.builds(Explodes),
    st.builds(ExplodingModel),
)
_values = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=8),
        st.tuples(children, children),
        st.dictionaries(st.one_of(st.text(max_size=20), st.integers()), children, max_size=8),
    ),
    max_leaves=60,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arguments=st.lists(_values, max_size=4), result=_values, limit=st.sampled_from([128, 1024]))
def test_arbitrary_values_never_break_a_decorated_call(
    arguments: list[Any], result: Any, limit: int
) -> None:
    @llmtrace.trace(name="anything", capture_input=True, capture_output=True)
    def anything(*args: Any) -> Any:
        return result

    with llmtrace.testing.capture_spans(capture_content=True) as captured:
        runtime.max_attribute_bytes = limit
        try:
            assert anything(*arguments) is result
        finally:
            runtime.max_attribute_bytes = 2048
        (span,) = captured.spans
        check_attributes(span, limit)
    Figures.add("hostile_values.hypothesis_examples", 1)
