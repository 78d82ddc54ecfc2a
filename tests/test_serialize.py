"""to_json: any value becomes valid JSON within the byte budget, without raising."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from pydantic import BaseModel

from llmtrace._serialize import TRUNCATION_MARKER, to_json, truncate_text


class Model(BaseModel):
    name: str
    size: int


@dataclasses.dataclass
class Point:
    x: int
    y: int


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


class FakeArray:
    """Has tolist() but is no numpy-like array: capture must not call it."""

    def tolist(self) -> list[int]:
        raise AssertionError("tolist() called on an arbitrary object")

    def __repr__(self) -> str:
        return "FakeArray()"


def circular() -> dict[str, Any]:
    value: dict[str, Any] = {"name": "loop"}
    value["self"] = value
    return value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": 1, "b": [True, None]}, {"a": 1, "b": [True, None]}),
        ("text", "text"),
        (Model(name="m", size=2), {"name": "m", "size": 2}),
        (Point(1, 2), {"x": 1, "y": 2}),
        ({1, 2} and {2}, [2]),
        (FakeArray(), "FakeArray()"),
        ({"n": float("nan")}, {"n": "nan"}),
        ({"inf": float("inf")}, {"inf": "inf"}),
        ({(1, 2): "tuple key"}, {"(1, 2)": "tuple key"}),
    ],
)
def test_common_values(value: Any, expected: Any) -> None:
    assert json.loads(to_json(value, 2048)) == expected


def test_bytes_become_a_short_description_not_the_payload() -> None:
    data = bytes(range(256)) * 100
    text = json.loads(to_json({"image": data}, 2048))["image"]
    assert text.startswith("<bytes len=25600 b64=")
    assert len(text) < 100


def test_circular_structures() -> None:
    assert json.loads(to_json(circular(), 2048)) == {"name": "loop", "self": "<circular>"}


def test_objects_whose_repr_raises() -> None:
    assert json.loads(to_json([BadRepr()], 2048)) == ["<unrepresentable BadRepr>"]


def test_deep_nesting_is_cut() -> None:
    value: Any = "bottom"
    for _ in range(5000):
        value = [value]
    text = to_json(value, 4096)
    json.loads(text)
    assert "<max depth>" in text


@pytest.mark.parametrize("budget", [128, 500, 2048])
def test_long_values_stay_within_budget_and_valid(budget: int) -> None:
    values = [
        "x" * 100_000,
        "é" * 100_000,
        {"prompt": "p" * 10_000, "params": list(range(5000))},
        [{"role": "user", "content": "🙂" * 3000}] * 50,
        {f"key{i}": i for i in range(10_000)},
    ]
    for value in values:
        text = to_json(value, budget)
        assert len(text.encode("utf-8")) <= budget
        json.loads(text)
        assert TRUNCATION_MARKER in text


def test_structure_survives_truncation_where_possible() -> None:
    text = to_json({"prompt": "p" * 10_000, "model": "gpt-4o"}, 512)
    value = json.loads(text)
    assert value["model"] == "gpt-4o"
    assert value["prompt"].endswith(TRUNCATION_MARKER)


def test_truncate_text_counts_bytes() -> None:
    text = truncate_text("ü" * 1000, 101)
    assert len(text.encode("utf-8")) <= 101
    assert text.endswith(TRUNCATION_MARKER)
    assert truncate_text("short", 100) == "short"
