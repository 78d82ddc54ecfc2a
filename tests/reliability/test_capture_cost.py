"""Content capture costs what the byte budget allows, not what the value weighs, and calls
no method on objects that merely look like pydantic models or arrays.

Cost is checked without timing: by the memory converting a value allocates at its peak
(``tracemalloc``, which numpy reports to), and by counting the items a value hands out.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest

import llmtrace
from llmtrace import semconv
from llmtrace._serialize import to_json
from llmtrace.testing import SpanCapture
from tests.support.reliability import Figures

BUDGET = 2048
# Far below what converting any of the values below whole allocates (tens of MB).
PEAK_LIMIT = 512 * 1024


def peak_bytes(func: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _check(text: str) -> Any:
    assert len(text.encode("utf-8")) <= BUDGET
    return json.loads(text)


def _numpy() -> Any:
    return pytest.importorskip("numpy", reason="numpy is not installed (pip install -e .[dev])")


def big_values() -> dict[str, Callable[[], Any]]:
    return {
        "list of 1,000,000 ints": lambda: list(range(1_000_000)),
        "dict of 200,000 keys": lambda: {f"k{i}": i for i in range(200_000)},
        "1,000 lists of 1,000 ints": lambda: [list(range(1000)) for _ in range(1000)],
        "tuple of 100,000 strings": lambda: tuple("word" for _ in range(100_000)),
        "set of 200,000 ints": lambda: set(range(200_000)),
    }


@pytest.mark.parametrize("name", sorted(big_values()))
def test_capturing_a_large_value_is_bounded_by_the_budget(name: str) -> None:
    value = big_values()[name]()
    text = ""

    def run() -> None:
        nonlocal text
        text = to_json(value, BUDGET)

    peak = peak_bytes(run)
    Figures.record(f"capture_cost.peak_bytes.{name}", peak)
    assert peak < PEAK_LIMIT, f"{name}: {peak} bytes at peak"
    _check(text)
    assert "[truncated]" in text


def test_a_million_element_numpy_array_is_converted_only_as_far_as_the_budget() -> None:
    np = _numpy()
    array = np.arange(1_000_000, dtype=np.int64)
    text = ""

    def run() -> None:
        nonlocal text
        text = to_json(array, BUDGET)

    peak = peak_bytes(run)
    Figures.record("capture_cost.peak_bytes.numpy_1m", peak)
    assert peak < PEAK_LIMIT
    data = _check(text)
    assert data[:3] == [0, 1, 2]
    assert "more items" in data[-1]


def test_an_rgb_image_array_costs_the_budget_not_its_27_million_values() -> None:
    np = _numpy()
    image = np.zeros((3000, 3000, 3), dtype=np.uint8)
    text = ""

    def run() -> None:
        nonlocal text
        text = to_json({"prompt": "describe it", "image": image}, BUDGET)

    peak = peak_bytes(run)
    Figures.record("capture_cost.peak_bytes.image_3000x3000", peak)
    assert peak < PEAK_LIMIT
    data = _check(text)
    assert data["prompt"] == "describe it"
    assert data["image"][0][0] == [0, 0, 0]


def test_small_numpy_values_are_still_captured_whole() -> None:
    np = _numpy()
    assert json.loads(to_json(np.array([[1, 2], [3, 4]]), BUDGET)) == [[1, 2], [3, 4]]
    assert json.loads(to_json({"x": np.float64(0.5), "n": np.int32(3)}, BUDGET)) == {
        "x": 0.5,
        "n": 3,
    }


class Counting(list[int]):
    """A list subclass counting the items it hands out."""

    handed_out = 0

    def __iter__(self) -> Iterator[int]:
        for item in super().__iter__():
            Counting.handed_out += 1
            yield item


def test_only_the_items_that_fit_are_read() -> None:
    Counting.handed_out = 0
    _check(to_json(Counting(range(1_000_000)), BUDGET))
    assert Counting.handed_out <= BUDGET


class Proxy:
    """An RPC proxy: every attribute is a remote method, and calling one is a remote call."""

    def __init__(self) -> None:
        self.remote_calls: list[str] = []

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def remote(*args: Any, **kwargs: Any) -> Any:
            self.remote_calls.append(name)
            return {"remote": name}

        return remote

    def __repr__(self) -> str:
        return "<Proxy>"


class CountsRepr:
    calls = 0

    def __repr__(self) -> str:
        CountsRepr.calls += 1
        return "<CountsRepr>"


def test_a_proxy_argument_gets_no_method_called(captured_content: SpanCapture) -> None:
    proxy = Proxy()

    @llmtrace.trace(name="call")
    def call(service: Any) -> Any:
        return service

    assert call(proxy) is proxy
    assert proxy.remote_calls == []
    span = captured_content.find("call")
    assert json.loads(str(span.attributes[semconv.LLMTRACE_INPUT])) == {"service": "<Proxy>"}


@pytest.mark.parametrize("factory", [mock.Mock, mock.MagicMock, mock.NonCallableMock])
def test_a_mock_argument_is_described_without_calling_it(
    factory: Callable[[], Any], captured_content: SpanCapture
) -> None:
    double = factory()

    @llmtrace.trace(name="call")
    def call(client: Any, items: list[Any]) -> Any:
        return client

    assert call(double, [double, {"k": double}]) is double
    assert double.mock_calls == []  # neither model_dump() nor tolist() was called
    captured_content.find("call")


def test_repr_is_called_at_most_once_per_value() -> None:
    CountsRepr.calls = 0
    value = CountsRepr()
    # Over the budget, so the value is cut after conversion: still one repr() call.
    _check(to_json([value, "x" * 5000, {"again": value}], BUDGET))
    assert CountsRepr.calls <= 2  # two references to one object: at most one call each
    CountsRepr.calls = 0
    _check(to_json({"one": CountsRepr(), "pad": ["y" * 100] * 100}, BUDGET))
    assert CountsRepr.calls == 1
    CountsRepr.calls = 0
    _check(to_json([CountsRepr()], BUDGET))
    assert CountsRepr.calls == 1


def test_pydantic_models_are_still_dumped() -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        text: str
        score: float

    assert json.loads(to_json([Answer(text="hi", score=0.5)], BUDGET)) == [
        {"text": "hi", "score": 0.5}
    ]
