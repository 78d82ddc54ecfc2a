"""The terminal trace tree: what ``init()`` shows when no collector is configured.

When a root span ends, its whole trace is printed (to stderr by default)::

    answer_question                                   1.23 s
    ├── retrieve                                      12.0 ms
    └── chat gpt-4o-mini  gpt-4o-mini-2024-07-18      1.20 s  in 812 · out 95 tok  $0.000179
        ✗ RateLimitError: slow down

Spans are buffered per trace until the root ends; both the number of pending
traces and spans per trace are bounded, so a trace whose root never ends
cannot grow memory without limit.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict
from typing import TextIO

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode

from . import semconv
from ._errors import internal_errors

_MAX_TRACES = 256
_MAX_SPANS_PER_TRACE = 2000
_NAME_WIDTH = 48
_LATE: list[ReadableSpan] = []  # sentinel: the span's trace was already printed


class ConsoleTreeProcessor(SpanProcessor):
    """Prints each finished trace as a tree."""

    def __init__(self, stream: TextIO | None = None, color: bool | None = None) -> None:
        self._stream = stream
        self._color = color
        self._pending: OrderedDict[int, list[ReadableSpan]] = OrderedDict()
        # Traces already printed: a span ending after its root (a score recorded
        # later on an ended span) is printed on its own line instead of waiting forever.
        self._printed: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        with internal_errors:
            context = span.context
            if context is None:
                return
            is_root = span.parent is None or span.parent.is_remote
            with self._lock:
                finished = self._collect(span, context.trace_id, is_root)
            if finished is _LATE:
                self._print(_line(span, "  ↳ late: ", self._use_color()))
            elif finished:
                self._print(render_tree(finished, self._use_color()))

    def _collect(self, span: ReadableSpan, trace_id: int, is_root: bool) -> list[ReadableSpan]:
        """Buffer ``span``; return the whole trace when its root ended (caller holds the lock)."""
        if not is_root and trace_id in self._printed:
            return _LATE
        spans = self._pending.pop(trace_id, []) if is_root else self._pending.get(trace_id)
        if spans is None:
            spans = self._pending[trace_id] = []
            if len(self._pending) > _MAX_TRACES:
                self._pending.popitem(last=False)
        if len(spans) < _MAX_SPANS_PER_TRACE:
            spans.append(span)
        if not is_root:
            return []
        self._printed[trace_id] = None
        if len(self._printed) > _MAX_TRACES:
            self._printed.popitem(last=False)
        return spans

    def _use_color(self) -> bool:
        if self._color is not None:
            return self._color
        stream = self._stream or sys.stderr
        return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ

    def _print(self, text: str) -> None:
        stream = self._stream or sys.stderr
        stream.write(text + "\n")
        stream.flush()

    def shutdown(self) -> None:
        with self._lock:
            self._pending.clear()
            self._printed.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def render_tree(spans: list[ReadableSpan], color: bool = False) -> str:
    """Render one trace's spans as an indented tree (roots first, children by start time)."""
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    children: dict[int | None, list[ReadableSpan]] = {}
    for s in spans:
        parent_id = s.parent.span_id if s.parent is not None and s.parent.span_id in by_id else None
        children.setdefault(parent_id, []).append(s)
    for group in children.values():
        group.sort(key=lambda s: s.start_time or 0)
    lines: list[str] = []

    def walk(node: ReadableSpan, prefix: str, connector: str, child_prefix: str) -> None:
        lines.append(_line(node, prefix + connector, color))
        error = _error_text(node)
        if error:
            lines.append(prefix + child_prefix + "  " + _paint(f"✗ {error}", "31", color))
        kids = children.get(node.context.span_id if node.context else None, [])
        for index, kid in enumerate(kids):
            last = index == len(kids) - 1
            walk(kid, prefix + child_prefix, "└── " if last else "├── ", "    " if last else "│   ")

    for root in children.get(None, []):
        walk(root, "", "", "")
    return "\n".join(lines)


def _line(span: ReadableSpan, head: str, color: bool) -> str:
    attrs = span.attributes or {}
    name = head + span.name
    response_model = attrs.get(semconv.GEN_AI_RESPONSE_MODEL)
    if response_model and response_model != attrs.get(semconv.GEN_AI_REQUEST_MODEL):
        name += f"  → {response_model}"
    parts = [name.ljust(_NAME_WIDTH), _duration(span).rjust(9)]
    tokens_in = attrs.get(semconv.GEN_AI_USAGE_INPUT_TOKENS)
    tokens_out = attrs.get(semconv.GEN_AI_USAGE_OUTPUT_TOKENS)
    if tokens_in is None and tokens_out is None:
        tokens_in = attrs.get(semconv.LLMTRACE_USAGE_TOTAL_INPUT_TOKENS)
        tokens_out = attrs.get(semconv.LLMTRACE_USAGE_TOTAL_OUTPUT_TOKENS)
    if tokens_in is not None or tokens_out is not None:
        estimated = "~" if attrs.get(semconv.LLMTRACE_USAGE_ESTIMATED) else ""
        parts.append(f"{estimated}in {tokens_in or 0} · out {tokens_out or 0} tok")
    cost = attrs.get(semconv.GEN_AI_USAGE_COST_AMOUNT, attrs.get(semconv.LLMTRACE_COST_TOTAL))
    if isinstance(cost, (int, float)):
        parts.append(_paint(f"${cost:.6f}", "32", color))
    score = attrs.get(semconv.GEN_AI_EVALUATION_SCORE_VALUE)
    if score is not None:
        label = attrs.get(semconv.GEN_AI_EVALUATION_SCORE_LABEL)
        parts.append(_paint(f"score {score}" + (f" ({label})" if label else ""), "35", color))
    prompt = attrs.get(semconv.GEN_AI_PROMPT_NAME)
    if prompt:
        version = attrs.get(semconv.GEN_AI_PROMPT_VERSION)
        parts.append(
            _paint(f"prompt {prompt}@{version}" if version else f"prompt {prompt}", "36", color)
        )
    text = "  ".join(parts)
    if span.status.status_code is StatusCode.ERROR:
        return _paint(text, "31", color)
    return text


def _error_text(span: ReadableSpan) -> str | None:
    if span.status.status_code is not StatusCode.ERROR:
        return None
    return span.status.description or str((span.attributes or {}).get(semconv.ERROR_TYPE, "error"))


def _duration(span: ReadableSpan) -> str:
    if span.start_time is None or span.end_time is None:
        return "?"
    seconds = (span.end_time - span.start_time) / 1e9
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.001:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def _paint(text: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if color else text
