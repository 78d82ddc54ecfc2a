"""Cost and token roll-ups onto parent spans, without keeping trees in memory.

An LLM call that finishes adds its tokens and cost to an entry keyed by its
parent's span id. When a span llmtrace ends itself (decorator, ``span()``,
LangChain run) it pops its own entry, writes the totals as attributes and adds
them to its own parent's entry. Only spans with LLM calls beneath them and
still open have an entry; the table is bounded, least recently used dropped, so
spans that never end (or belong to other instrumentations) cannot leak memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from opentelemetry.trace import Span

from . import semconv

_MAX_OPEN = 10_000


class Totals:
    __slots__ = ("calls", "cost", "cost_complete", "input_tokens", "output_tokens")

    def __init__(self) -> None:
        self.calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost = 0.0
        # False once any call beneath had no price: the total is then a lower bound.
        self.cost_complete = True

    def merge(self, other: Totals) -> None:
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost += other.cost
        self.cost_complete = self.cost_complete and other.cost_complete


_open: OrderedDict[int, Totals] = OrderedDict()
_lock = threading.Lock()


def _entry(span_id: int) -> Totals:
    totals = _open.get(span_id)
    if totals is None:
        totals = _open[span_id] = Totals()
        if len(_open) > _MAX_OPEN:
            _open.popitem(last=False)
    else:
        # Least recently used goes first: a long workflow that keeps calling stays.
        _open.move_to_end(span_id)
    return totals


def add_llm_call(
    parent_span_id: int | None,
    input_tokens: int | None,
    output_tokens: int | None,
    cost: float | None,
) -> None:
    """Count one finished LLM call towards its parent span's totals."""
    if not parent_span_id:
        return
    with _lock:
        totals = _entry(parent_span_id)
        totals.calls += 1
        totals.input_tokens += input_tokens or 0
        totals.output_tokens += output_tokens or 0
        if cost is None:
            totals.cost_complete = False
        else:
            totals.cost += cost


def finish_span(span: Span, span_id: int, parent_span_id: int | None) -> None:
    """Write the totals beneath ``span`` on it (before it ends) and pass them up."""
    if not _open:
        return
    with _lock:
        totals = _open.pop(span_id, None)
        if totals is None:
            return
        if parent_span_id:
            _entry(parent_span_id).merge(totals)
    span.set_attribute(semconv.LLMTRACE_LLM_CALL_COUNT, totals.calls)
    span.set_attribute(semconv.LLMTRACE_USAGE_TOTAL_INPUT_TOKENS, totals.input_tokens)
    span.set_attribute(semconv.LLMTRACE_USAGE_TOTAL_OUTPUT_TOKENS, totals.output_tokens)
    if totals.cost_complete or totals.cost:
        span.set_attribute(semconv.LLMTRACE_COST_TOTAL, round(totals.cost, 10))


def pending() -> bool:
    """True while any open span holds totals (cheap check before ``finish_span``)."""
    return bool(_open)


def open_entries() -> int:
    """How many parents currently hold totals (for memory tests)."""
    return len(_open)
