"""Cost budgets: watch what the LLM calls inside a block spend.

    with llmtrace.budget(max_usd=0.50, on_exceed="raise", name="nightly-report") as b:
        summarise(documents)          # raises BudgetExceeded before the call after the limit
    print(b.spent_usd, b.exceeded)

``on_exceed`` is ``"warn"`` (log a warning once; the default), ``"raise"``
(``BudgetExceeded`` from the *next* LLM call, before it is sent; a call in
flight is never interrupted), or a function called once with the budget.
Budgets nest (each one counts every call inside it) and follow the context
into threads started with ``copy_context()`` / ``llmtrace.bind_context`` and
into asyncio tasks. Only calls llmtrace traces and can price are counted.

Everything here runs inside the never-raise guard except the deliberate
``BudgetExceeded``.
"""

from __future__ import annotations

import contextvars
import math
import threading
from collections.abc import Callable
from typing import Literal, TypeAlias

from .._cm import AsyncWithMixin, ExcType, Traceback
from .._errors import (
    ConfigurationError,
    Failed,
    LLMTraceError,
    attempt,
    internal_errors,
    logger,
)
from . import metrics

OnExceed: TypeAlias = Literal["warn", "raise"] | Callable[["budget"], object]


class BudgetExceeded(LLMTraceError):
    """An LLM call was stopped before it started because a budget was already spent."""

    def __init__(self, name: str | None, spent_usd: float, max_usd: float) -> None:
        self.name = name
        self.spent_usd = spent_usd
        self.max_usd = max_usd
        label = f"budget {name!r}" if name else "budget"
        super().__init__(
            f"llmtrace {label} exceeded: spent ${spent_usd:.6f} of the ${max_usd:.6f} limit; "
            "the next LLM call was not sent"
        )


_active: contextvars.ContextVar[tuple[budget, ...]] = contextvars.ContextVar(
    "llmtrace_budgets", default=()
)
# Budget blocks open anywhere in the process. While there are none (the common case)
# an LLM call skips ``before_call()`` and ``charge()`` without calling them.
open_blocks = 0
_open_blocks_lock = threading.Lock()


def _count_open(delta: int) -> None:
    global open_blocks
    with _open_blocks_lock:
        open_blocks += delta


class budget(
    AsyncWithMixin["budget"]
):  # lower case: used like a function, `with llmtrace.budget(...)`
    """A spending limit for the LLM calls made inside a ``with`` / ``async with`` block."""

    __slots__ = ("_handled", "_lock", "_spent", "_tokens", "max_usd", "name", "on_exceed")

    def __init__(
        self, max_usd: float, on_exceed: OnExceed = "warn", name: str | None = None
    ) -> None:
        valid = isinstance(max_usd, (int, float)) and not isinstance(max_usd, bool)
        if not valid or not math.isfinite(max_usd) or max_usd < 0:
            raise ConfigurationError(f"budget: max_usd must be a number >= 0; got {max_usd!r}")
        if on_exceed not in ("warn", "raise") and not callable(on_exceed):
            raise ConfigurationError(
                f"budget: on_exceed must be 'warn', 'raise' or a function; got {on_exceed!r}"
            )
        self.max_usd = float(max_usd)
        self.on_exceed = on_exceed
        self.name = name
        self._spent = 0.0
        self._handled = False
        self._lock = threading.Lock()
        self._tokens: list[contextvars.Token[tuple[budget, ...]]] = []

    @property
    def spent_usd(self) -> float:
        """USD spent by the priced LLM calls finished inside the block so far."""
        return self._spent

    @property
    def remaining_usd(self) -> float:
        return max(self.max_usd - self._spent, 0.0)

    @property
    def exceeded(self) -> bool:
        """True once the spend is above ``max_usd``."""
        return self._spent > self.max_usd

    def __repr__(self) -> str:
        return (
            f"budget(name={self.name!r}, spent_usd={self._spent:.6f}, "
            f"max_usd={self.max_usd}, exceeded={self.exceeded})"
        )

    # -- context management ----------------------------------------------------------------
    def __enter__(self) -> budget:
        self._tokens.append(_active.set((*_active.get(), self)))
        _count_open(1)
        return self

    def __exit__(self, exc_type: ExcType, exc: BaseException | None, tb: Traceback) -> None:
        with internal_errors:
            token = self._tokens.pop() if self._tokens else None
            if token is not None:
                _count_open(-1)
            try:
                if token is None:
                    raise ValueError("no token")
                _active.reset(token)
            except ValueError:  # exited in another context: just drop this budget there
                _active.set(tuple(b for b in _active.get() if b is not self))

    # -- accounting --------------------------------------------------------------------------
    def _add(self, cost_usd: float) -> None:
        with self._lock:
            self._spent += cost_usd
            first_time = self._spent > self.max_usd and not self._handled
            if first_time:
                self._handled = True
        if first_time:
            self._on_exceeded()

    def _on_exceeded(self) -> None:
        metrics.record_budget_exceeded(self.name)
        handler = self.on_exceed
        if handler == "raise":
            logger.info("llmtrace: %r is spent; the next LLM call will raise", self)
        elif handler == "warn":
            logger.warning(
                "llmtrace: %s exceeded: spent $%.6f of the $%.6f limit",
                f"budget {self.name!r}" if self.name else "budget",
                self._spent,
                self.max_usd,
            )
        elif callable(handler):
            failed = attempt(handler, self)  # the user's handler must not break the LLM call
            if isinstance(failed, Failed):
                logger.warning(
                    "llmtrace: the on_exceed handler of %r raised", self, exc_info=failed.error
                )


def current_budgets() -> tuple[budget, ...]:
    """The budgets in effect here, outermost first."""
    return _active.get()


def before_call() -> None:
    """Raise BudgetExceeded before an LLM call when a raising budget in effect is spent."""
    budgets = _active.get()
    if not budgets:  # the common case, without entering the guard
        return
    error: BudgetExceeded | None = None
    with internal_errors:
        for active in budgets:
            if active.on_exceed == "raise" and active.exceeded:
                error = BudgetExceeded(active.name, active.spent_usd, active.max_usd)
                break
    if error is not None:
        with internal_errors:
            metrics.record_budget_rejection(error.name)
        raise error


def charge(cost_usd: float) -> None:
    """Add a finished call's cost to every budget in effect."""
    budgets = _active.get()
    if not budgets:
        return
    with internal_errors:
        if cost_usd <= 0 or not math.isfinite(cost_usd):
            return
        for active in budgets:
            active._add(cost_usd)


_warned_unpriced: set[tuple[str | None, str | None]] = set()


def warn_unpriced(provider: str | None, model: str | None) -> None:
    """One WARNING per model: a call under a budget that no price covers counts as $0."""
    if not _active.get():
        return
    key = (provider, model)
    if key in _warned_unpriced or len(_warned_unpriced) >= 1024:
        return
    _warned_unpriced.add(key)
    logger.warning(
        "llmtrace: no price for model %r (provider %r), so budget() cannot count its calls; "
        "map the host to its provider with init(providers={...}) / LLMTRACE_PROVIDERS, "
        "or give the model a price with init(prices={...})",
        model,
        provider,
    )
