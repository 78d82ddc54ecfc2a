"""``async with`` for llmtrace's synchronous context managers (span, budget, llm_call).

Their enter and exit never block, so the async forms simply delegate: subclass
``AsyncWithMixin[EnterType]`` in a class that defines ``__enter__`` and ``__exit__``.
"""

from __future__ import annotations

from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")
# The arguments of __exit__ / __aexit__, for short signatures.
ExcType = type[BaseException] | None
Traceback = TracebackType | None


class AsyncWithMixin(Generic[T]):
    """``T`` is what ``async with ... as x`` binds: the type ``__enter__`` returns."""

    __slots__ = ()

    async def __aenter__(self) -> T:
        return self.__enter__()  # type: ignore[attr-defined,no-any-return]

    async def __aexit__(self, exc_type: ExcType, exc: BaseException | None, tb: Traceback) -> None:
        self.__exit__(exc_type, exc, tb)  # type: ignore[attr-defined]
