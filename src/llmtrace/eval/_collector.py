"""Read what a case's trace says (cost, tokens, latency, models, prompts) as its spans end.

    with run_tracing() as collector:               # llmtrace's tracer, or a private one
        collector.open(trace_id)                    # when a case's root span starts
        collector.expect(trace_id, task_span_id, "task")
        ...                                         # spans end; the collector reads them
        stats = collector.close(trace_id)           # after the root span ended

One ``SpanCollector`` is added to each TracerProvider the first time a run uses
it (an SDK provider cannot remove a processor again); while no case is open its
``on_end`` is one dict lookup. Totals come from the roll-up attributes llmtrace
writes on the task and scorer spans (``llmtrace.cost.total`` and friends), so a
report says exactly what the spans say.

When llmtrace has no tracer (``init()`` not called, no global provider), a run
traces into a private provider that exports nothing, and instruments the
installed OpenAI and LangChain libraries for its duration.
"""

from __future__ import annotations

import importlib.util
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.trace import SpanKind

from .. import semconv
from .._errors import internal_errors, logger
from .._runtime import runtime

__all__ = ["SpanCollector", "SpanTotals", "TraceStats", "run_tracing"]


@dataclass
class SpanTotals:
    """The roll-up totals and duration of one ended span."""

    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0  # None: some call beneath had no price
    latency_s: float | None = None

    @classmethod
    def of(cls, span: ReadableSpan) -> SpanTotals:
        attributes = span.attributes or {}
        calls = int(_number(attributes.get(semconv.LLMTRACE_LLM_CALL_COUNT)) or 0)
        cost = _number(attributes.get(semconv.LLMTRACE_COST_TOTAL))
        latency = None
        if span.start_time is not None and span.end_time is not None:
            latency = (span.end_time - span.start_time) / 1e9
        return cls(
            llm_calls=calls,
            input_tokens=int(
                _number(attributes.get(semconv.LLMTRACE_USAGE_TOTAL_INPUT_TOKENS)) or 0
            ),
            output_tokens=int(
                _number(attributes.get(semconv.LLMTRACE_USAGE_TOTAL_OUTPUT_TOKENS)) or 0
            ),
            cost_usd=cost if cost is not None else (0.0 if calls == 0 else None),
            latency_s=latency,
        )


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


@dataclass
class TraceStats:
    """What one case's trace said, filled in as its spans end."""

    roles: dict[int, str] = field(default_factory=dict)  # span id -> "task" / "scorer:<name>"
    totals: dict[str, SpanTotals] = field(default_factory=dict)  # role -> totals
    parents: dict[int, int | None] = field(default_factory=dict)
    llm_spans: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def llm_calls_under(self, role: str) -> list[dict[str, Any]]:
        """The LLM spans' details beneath the span playing ``role``."""
        targets = {span_id for span_id, r in self.roles.items() if r == role}
        found = []
        for span_id, details in self.llm_spans:
            seen = 0
            current: int | None = span_id
            while current is not None and current not in targets and seen < 64:
                current = self.parents.get(current)
                seen += 1
            if current is not None and current in targets:
                found.append(details)
        return found


class SpanCollector(SpanProcessor):
    """Hands the ends of spans in open cases' traces to their ``TraceStats``."""

    def __init__(self) -> None:
        self._open: dict[int, TraceStats] = {}
        self._lock = threading.Lock()

    def open(self, trace_id: int) -> None:
        with self._lock:
            self._open[trace_id] = TraceStats()

    def expect(self, trace_id: int, span_id: int, role: str) -> None:
        stats = self._open.get(trace_id)
        if stats is not None:
            with self._lock:
                stats.roles[span_id] = role

    def close(self, trace_id: int) -> TraceStats | None:
        with self._lock:
            return self._open.pop(trace_id, None)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if not self._open:
            return
        with internal_errors:
            context = span.context
            stats = self._open.get(context.trace_id) if context is not None else None
            if stats is None or context is None:
                return
            self._record(stats, span, context.span_id)

    def _record(self, stats: TraceStats, span: ReadableSpan, span_id: int) -> None:
        attributes = span.attributes or {}
        with self._lock:
            stats.parents[span_id] = span.parent.span_id if span.parent else None
            role = stats.roles.get(span_id)
            if role is not None:
                stats.totals[role] = SpanTotals.of(span)
            elif span.kind is SpanKind.CLIENT and semconv.GEN_AI_PROVIDER_NAME in attributes:
                stats.llm_spans.append((span_id, _llm_details(attributes)))

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _llm_details(attributes: Any) -> dict[str, Any]:
    keys = {
        "request_model": semconv.GEN_AI_REQUEST_MODEL,
        "response_model": semconv.GEN_AI_RESPONSE_MODEL,
        "model_version": semconv.LLMTRACE_MODEL_VERSION,
        "prompt_name": semconv.GEN_AI_PROMPT_NAME,
        "prompt_version": semconv.GEN_AI_PROMPT_VERSION,
    }
    return {name: attributes.get(key) for name, key in keys.items() if attributes.get(key)}


# -- which provider a run traces into ----------------------------------------------------------

_collectors: weakref.WeakKeyDictionary[Any, SpanCollector] = weakref.WeakKeyDictionary()
_setup_lock = threading.Lock()
_private_users = 0
_private: tuple[TracerProvider, SpanCollector, list[str]] | None = None


def _collector_for(provider: Any) -> SpanCollector | None:
    with _setup_lock:
        collector = _collectors.get(provider)
        if collector is None:
            if not callable(getattr(provider, "add_span_processor", None)):
                logger.warning(
                    "llmtrace.evaluate: the TracerProvider (%s) takes no span processors; "
                    "cost, tokens and models are not reported",
                    type(provider).__name__,
                )
                return None
            collector = SpanCollector()
            provider.add_span_processor(collector)
            _collectors[provider] = collector
        return collector


@contextmanager
def run_tracing() -> Iterator[SpanCollector | None]:
    """The collector for a run; a private provider for its duration when tracing is off."""
    if runtime.tracer() is not None:
        provider = runtime.tracer_provider or trace.get_tracer_provider()
        yield _collector_for(provider)
        return
    if runtime.disabled:
        logger.warning(
            "llmtrace.evaluate: tracing is disabled (OTEL_SDK_DISABLED); the report has "
            "scores and latency but no cost, tokens or models"
        )
        yield None
        return
    collector = _enter_private()
    try:
        yield collector
    finally:
        _leave_private()


def _enter_private() -> SpanCollector:
    global _private, _private_users
    with _setup_lock:
        if _private is None:
            provider = TracerProvider(shutdown_on_exit=False)
            collector = SpanCollector()
            provider.add_span_processor(collector)
            runtime.tracer_provider = provider
            runtime.reset_tracer_cache()
            _private = (provider, collector, _instrument_for_run())
        _private_users += 1
        return _private[1]


def _leave_private() -> None:
    global _private, _private_users
    with _setup_lock:
        _private_users -= 1
        if _private_users or _private is None:
            return
        provider, _collector, instrumented = _private
        _private = None
        _uninstrument(instrumented)
        if runtime.tracer_provider is provider:
            runtime.tracer_provider = None
            runtime.reset_tracer_cache()
        provider.shutdown()


def _instrument_for_run() -> list[str]:
    """Instrument the installed LLM libraries not instrumented yet; the names done."""
    done: list[str] = []
    if importlib.util.find_spec("openai") is not None:
        from ..instrumentation import openai as oai

        if not oai.is_instrumented():
            oai.instrument_openai()
            done.append("openai")
    if importlib.util.find_spec("langchain_core") is not None:
        from ..instrumentation import langchain as lc

        if not lc.is_instrumented():
            lc.instrument_langchain()
            done.append("langchain")
    return done


def _uninstrument(names: list[str]) -> None:
    if "openai" in names:
        from ..instrumentation import openai as oai

        oai.uninstrument_openai()
    if "langchain" in names:
        from ..instrumentation import langchain as lc

        lc.uninstrument_langchain()
