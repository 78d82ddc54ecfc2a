"""The two shells every SDK patch runs a call in: sync and async, differing only by ``await``.

A patch supplies three sans-I/O phases; the shell owns the order and the contract::

    class MyPatch:
        def begin(self, instance, args, kwargs):   # (call, args, kwargs) to call with, or
            ...                                    # None: pass straight through, untraced
        def failed(self, call, exc): ...           # record the user's exception
        def finished(self, call, result): ...      # what the caller gets (maybe a proxy)

    wrapt.wrap_function_wrapper(module, "Messages.create", sync_shell(patch))
    wrapt.wrap_function_wrapper(module, "AsyncMessages.create", async_shell(patch))

Suppression is honoured first. Only the user's call sits in the ``try``: its exception
is handed to ``failed`` and re-raised unchanged. ``begin`` may raise on purpose
(``BudgetExceeded``); the phases otherwise keep to llmtrace's never-raise guard.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

__all__ = ["Args", "CallPatch", "Kwargs", "async_shell", "sync_shell"]

C = TypeVar("C")
Args = tuple[Any, ...]
Kwargs = dict[str, Any]


class CallPatch(Protocol[C]):
    """The phases of one patched SDK method (``C``: the patch's own per-call record)."""

    def begin(self, instance: Any, args: Args, kwargs: Kwargs) -> tuple[C, Args, Kwargs] | None:
        """Open the span; the call record and the arguments to call with (None: untraced)."""

    def failed(self, call: C, exc: BaseException) -> None:
        """The user's call raised ``exc`` (re-raised by the shell)."""

    def finished(self, call: C, result: Any) -> Any:
        """The user's call returned ``result``; what the caller gets."""


def sync_shell(patch: CallPatch[C]) -> Callable[..., Any]:
    """A ``wrapt`` wrapper running a sync SDK method through ``patch``."""

    def shell(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        begun = patch.begin(instance, args, kwargs)
        if begun is None:
            return wrapped(*args, **kwargs)
        call, call_args, call_kwargs = begun
        try:
            result = wrapped(*call_args, **call_kwargs)
        except BaseException as exc:
            patch.failed(call, exc)
            raise
        return patch.finished(call, result)

    return shell


def async_shell(patch: CallPatch[C]) -> Callable[..., Awaitable[Any]]:
    """The same for an async SDK method."""

    async def shell(
        wrapped: Callable[..., Awaitable[Any]], instance: Any, args: Args, kwargs: Kwargs
    ) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        begun = patch.begin(instance, args, kwargs)
        if begun is None:
            return await wrapped(*args, **kwargs)
        call, call_args, call_kwargs = begun
        try:
            result = await wrapped(*call_args, **call_kwargs)
        except BaseException as exc:
            patch.failed(call, exc)
            raise
        return patch.finished(call, result)

    return shell
