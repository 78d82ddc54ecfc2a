"""Request values -> the record's field types: the one set of coercers every provider uses."""

from __future__ import annotations

import pytest

from llmtrace._genai.values import as_number, as_strings, as_whole_number


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, 1.0), (0.5, 0.5), (0, 0.0), (True, None), ("0.5", None), (None, None)],
)
def test_as_number(value, expected):
    result = as_number(value)
    assert result == expected
    assert result is None or type(result) is float


@pytest.mark.parametrize(
    ("value", "expected"), [(256, 256), (0, 0), (256.0, None), (False, None), ("256", None)]
)
def test_as_whole_number(value, expected):
    assert as_whole_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(["END"], ["END"]), (("a", "b"), ["a", "b"]), ([], None), (["a", 1], None), ("END", None)],
)
def test_as_strings(value, expected):
    assert as_strings(value) == expected


def test_as_strings_returns_a_new_list():
    stop = ["END"]
    assert as_strings(stop) is not stop
