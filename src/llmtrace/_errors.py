"""The never-raise guard: llmtrace's own failures are logged, never raised into the app.

Wrap llmtrace's telemetry code (never the user's call) in ``internal_errors``::

    with internal_errors:
        span.set_attributes(extract(response))

or decorate a helper (positional-only parameters) with ``@never_raise(default)``;
call code llmtrace does not own (a user's hook, an SDK object's method) through
``attempt(func, *args)``, which returns its value or ``Failed``. The first failure at
each code location is logged with its traceback on the ``llmtrace`` logger; repeats
are logged at debug level so a hot path cannot flood the application's logs.

Under llmtrace's own test suite (``LLMTRACE_RAISE_INTERNAL_ERRORS=1``, or
``set_strict(True)``) the guard re-raises instead, so bugs fail tests.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar, cast

from ._cm import ExcType, Traceback

logger = logging.getLogger("llmtrace")

_strict = os.environ.get("LLMTRACE_RAISE_INTERNAL_ERRORS", "").lower() in ("1", "true", "yes")
_seen: set[tuple[str, int, str]] = set()
_seen_lock = threading.Lock()
_SEEN_LIMIT = 1024

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class LLMTraceError(Exception):
    """Base class of the exceptions llmtrace raises on purpose (bad configuration, budgets)."""


class ConfigurationError(LLMTraceError, ValueError):
    """A setting passed to llmtrace has a value it cannot use; the message names it."""


def set_strict(strict: bool) -> None:
    """Re-raise internal errors instead of logging them (for llmtrace's own tests)."""
    global _strict
    _strict = strict


def is_strict() -> bool:
    return _strict


def report_internal_error(exc: BaseException) -> None:
    """Log an llmtrace bug once per code location, with its traceback."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = (
        (tb.tb_frame.f_code.co_filename, tb.tb_lineno, type(exc).__name__)
        if tb is not None
        else ("?", 0, type(exc).__name__)
    )
    with _seen_lock:
        first = where not in _seen
        if first and len(_seen) < _SEEN_LIMIT:
            _seen.add(where)
    try:
        if first:
            logger.warning(
                "llmtrace internal error (telemetry for this call may be incomplete; "
                "the application is not affected)",
                exc_info=exc,
            )
        else:
            logger.debug("llmtrace internal error again: %r", exc)
    except Exception:  # noqa: BLE001 - a broken logging handler must not break the app either
        pass


class _InternalErrors:
    """Context manager that swallows and reports exceptions raised inside it."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: ExcType, exc: BaseException | None, tb: Traceback) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False
        if _strict:
            return False
        report_internal_error(exc)
        return True


internal_errors = _InternalErrors()


class Failed(NamedTuple):
    """What ``attempt`` returns when the code it called raised."""

    error: Exception


def attempt(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T | Failed:
    """Call code llmtrace does not own (a user's hook, an SDK's or a provider object's
    method): its exception comes back as ``Failed``, never raised, and is not llmtrace's
    bug (so, unlike the guard, it is not re-raised under the test suite either)."""
    try:
        return func(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - the one place foreign code's errors are caught
        return Failed(error)


async def attempt_async(
    func: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any
) -> T | Failed:
    """``attempt`` for foreign code that is awaited (a user's async task or scorer)."""
    try:
        return await func(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - attempt(), for code that is awaited
        return Failed(error)


def never_raise(default: T) -> Callable[[F], F]:
    """Decorate an llmtrace helper so that it returns ``default`` instead of raising.

    The helper's parameters are positional-only (``def f(a, b, /)``): the wrapper passes
    ``*args`` on without the ``**kwargs`` dict a general wrapper builds on every call (the
    per-chunk stream hook and the decorators' tracing check run through it). Public
    functions guard their body with ``internal_errors`` instead, keeping their signature.
    """

    def decorate(func: F) -> F:
        if not _positional_only(func):
            name = func.__qualname__
            raise TypeError(f"@never_raise: {name} must take positional-only parameters")

        @functools.wraps(func)
        def wrapper(*args: Any) -> Any:
            try:
                return func(*args)
            except Exception as exc:
                if _strict:
                    raise
                report_internal_error(exc)
                return default

        return cast(F, wrapper)

    return decorate


def _positional_only(func: Callable[..., Any]) -> bool:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL)
    return all(p.kind in kinds for p in inspect.signature(func).parameters.values())
