"""The never-raise guard (``llmtrace._errors``): both forms report llmtrace's bugs and
return, in production; the test suite runs strict, so the same bugs fail tests."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from llmtrace._errors import internal_errors, never_raise


def _broken(*_: Any) -> Any:
    raise RuntimeError("bug in llmtrace")


@never_raise(-1)
def helper(value: int, scale: int = 1, /) -> int:
    if value < 0:
        _broken()
    return value * scale


@never_raise(True)
def per_chunk(hook: Any, chunk: Any, /) -> bool:
    return bool(hook(chunk))


def test_the_with_form_swallows_and_logs_in_production(
    lenient: None, caplog: pytest.LogCaptureFixture
) -> None:
    reached = []
    with caplog.at_level(logging.WARNING, logger="llmtrace"), internal_errors:
        _broken()
        reached.append("not reached")
    assert reached == []
    assert "llmtrace internal error" in caplog.text


def test_a_decorated_helper_returns_its_default_instead_of_raising(lenient: None) -> None:
    assert helper(2, 3) == 6
    assert helper(-1) == -1


def test_only_helpers_with_positional_only_parameters_are_decorated() -> None:
    """The wrapper passes ``*args`` on, so a keyword parameter is refused at import time."""

    def keyword(value: int, *, scale: int = 1) -> int:
        return value * scale

    def either(value: int) -> int:
        return value

    for func in (keyword, either):
        with pytest.raises(TypeError, match="positional-only"):
            never_raise(0)(func)


def test_a_per_chunk_hook_is_guarded_the_same_way(lenient: None) -> None:
    assert per_chunk(lambda chunk: chunk, 1) is True
    assert per_chunk(lambda chunk: chunk, 0) is False
    assert per_chunk(_broken, 1) is True  # the chunk is still delivered


def test_a_decorated_helper_keeps_its_name_and_doc() -> None:
    assert per_chunk.__name__ == "per_chunk"
    assert per_chunk.__wrapped__(lambda chunk: chunk, 1) is True  # type: ignore[attr-defined]


def test_the_test_suite_runs_strict_so_bugs_fail_tests() -> None:
    with pytest.raises(RuntimeError, match="bug in llmtrace"):
        helper(-1)
    with pytest.raises(RuntimeError, match="bug in llmtrace"):
        per_chunk(_broken, 1)
    with pytest.raises(RuntimeError, match="bug in llmtrace"), internal_errors:
        _broken()


def test_the_users_exceptions_are_not_the_guards_business(lenient: None) -> None:
    """BaseExceptions that are not Exceptions (KeyboardInterrupt, exit) pass through."""

    def interrupted(chunk: Any) -> bool:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        per_chunk(interrupted, 1)
