"""Evaluation scores and user feedback, attached to the spans they judge.

    @llmtrace.trace
    def answer(question: str) -> dict:
        text = ...
        return {"text": text, "trace": llmtrace.trace_reference()}   # hand this to the UI

    # later, maybe in another process (a feedback endpoint, a judge job):
    llmtrace.record_score("helpfulness", 1.0, label="thumbs_up", reference=ref, source="human")

    # while the span is still open, the score goes on it directly:
    with llmtrace.span("answer"):
        llmtrace.record_score("format_ok", 1, source="code")

While the target span is open (the current span, or ``span=`` given and still
recording), the score becomes a ``gen_ai.evaluation.result`` event on it.
When it has ended, or only its ``SpanContext`` / reference string is known,
a small span ``evaluation {name}`` is emitted as its child (same trace id),
with a span link to it and the same attributes, as attributes and as the
event, so the score still arrives next to the original. When recorded inside
another span (a judge's run, a feedback handler), the score span also links
to that one.

A reference is a W3C ``traceparent`` string (``00-<trace id>-<span id>-<flags>``),
serialisable and valid in any process. ``record_score`` never raises: bad
input is logged on the ``llmtrace`` logger and it returns False.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanContext, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from . import semconv
from ._errors import internal_errors, logger, never_raise
from ._openinference import evaluation_attributes
from ._runtime import runtime
from ._serialize import to_attribute, truncate_text
from ._spans import TracedSpan, suppressed

__all__ = ["current_span_context", "parse_reference", "record_score", "trace_reference"]

ScoreSource = Literal["human", "llm_judge", "code"]
SOURCES: tuple[str, ...] = ("human", "llm_judge", "code")
EVALUATION_SPAN_KIND = "evaluation"

_TRACEPARENT = "traceparent"
_propagator = TraceContextTextMapPropagator()


def current_span_context() -> SpanContext | None:
    """The SpanContext of the current span, or None outside any (valid) span."""
    context = trace.get_current_span().get_span_context()
    return context if context.is_valid else None


def trace_reference(span: object = None) -> str | None:
    """A W3C traceparent string for ``span`` (default: the current span), or None.

    ``span`` may be a ``TracedSpan``, an OpenTelemetry span (open or ended) or
    a ``SpanContext``. Hand the string to a front end and pass it back to
    ``record_score(..., reference=...)`` later, from any process.
    """
    with internal_errors:
        context = _context_of(span) if span is not None else current_span_context()
        if context is None or not context.is_valid:
            return None
        carrier: dict[str, str] = {}
        _propagator.inject(carrier, trace.set_span_in_context(NonRecordingSpan(context)))
        return carrier.get(_TRACEPARENT)
    return None


def parse_reference(reference: str) -> SpanContext | None:
    """The (remote) SpanContext a ``trace_reference()`` string names; None if malformed."""
    if not isinstance(reference, str):
        return None
    extracted = _propagator.extract({_TRACEPARENT: reference.strip()})
    context = trace.get_current_span(extracted).get_span_context()
    return context if context.is_valid else None


def record_score(
    name: str,
    value: float | None,
    *,
    label: str | None = None,
    explanation: str | None = None,
    span: object = None,
    span_context: SpanContext | None = None,
    reference: str | None = None,
    source: ScoreSource = "human",
    attributes: Mapping[str, Any] | None = None,
) -> bool:
    """Attach an evaluation result to a span; True when it was recorded.

    The target is ``span`` (a ``TracedSpan`` or OpenTelemetry span, open or
    ended), ``span_context``, ``reference`` (a ``trace_reference()`` string) or,
    when none is given, the current span. ``value`` is a number (or None with
    a ``label``); ``source`` says who judged: ``"human"``, ``"llm_judge"`` or
    ``"code"``. Never raises: bad input is logged and False returned.
    """
    problem = _check(name, value, label, explanation, source, span, span_context, reference)
    if problem is not None:
        logger.warning("llmtrace.record_score(%r): %s; score not recorded", name, problem)
        return False
    score = _Score(name, value, label, explanation, source, attributes)
    return _record(score, span, span_context, reference)


class _Score(NamedTuple):
    """One checked score, as ``record_score`` was given it."""

    name: str
    value: float | None
    label: str | None
    explanation: str | None
    source: str
    extra: Mapping[str, Any] | None


def _check(
    name: object,
    value: object,
    label: object,
    explanation: object,
    source: object,
    span: object,
    span_context: object,
    reference: object,
) -> str | None:
    """What is wrong with the arguments, in words, or None."""
    if not isinstance(name, str) or not name:
        return "name must be a non-empty str"
    if value is not None and (
        not isinstance(value, (int, float)) or not math.isfinite(float(value))
    ):
        return f"value must be a finite number or None, got {value!r:.80}"
    if value is None and label is None:
        return "give a value, a label or both"
    if label is not None and not isinstance(label, str):
        return f"label must be a str, got {type(label).__name__}"
    if explanation is not None and not isinstance(explanation, str):
        return f"explanation must be a str, got {type(explanation).__name__}"
    if source not in SOURCES:
        return f"source must be one of {', '.join(SOURCES)}, got {source!r:.40}"
    if sum(target is not None for target in (span, span_context, reference)) > 1:
        return "give at most one of span, span_context and reference"
    if span_context is not None and not isinstance(span_context, SpanContext):
        return f"span_context must be an opentelemetry SpanContext, got {type(span_context)}"
    if reference is not None and parse_reference(reference) is None:  # type: ignore[arg-type]
        return f"reference is not a trace reference (W3C traceparent): {reference!r:.80}"
    return None


@never_raise(False)
def _record(
    score: _Score, span: object, span_context: SpanContext | None, reference: str | None, /
) -> bool:
    open_span, target = _resolve(span, span_context, reference)
    if open_span is None and target is None:
        logger.warning(
            "llmtrace.record_score(%r): no span to attach the score to (no current span "
            "and no span, span_context or reference given); score not recorded",
            score.name,
        )
        return False
    event = _event_attributes(score)
    if open_span is not None:
        open_span.add_event(semconv.GEN_AI_EVALUATION_RESULT_EVENT, event)
        return True
    assert target is not None
    return _emit_linked(score.name, target, event)


def _resolve(
    span: object, span_context: SpanContext | None, reference: str | None
) -> tuple[Span | None, SpanContext | None]:
    """(an open span to add the event to, or the context of an ended/remote target)."""
    if reference is not None:
        span_context = parse_reference(reference)
    elif span is not None:
        if isinstance(span, TracedSpan):
            span = span.span
        if isinstance(span, Span) and span.is_recording():
            return span, None
        span_context = _context_of(span)
        if span_context is None:
            logger.warning("llmtrace.record_score: cannot use %r as a span", type(span))
            return None, None
    if span_context is None:
        current = trace.get_current_span()
        if current.is_recording():
            return current, None
        span_context = current.get_span_context()
    if not span_context.is_valid:
        return None, None
    current = trace.get_current_span()
    same = current.get_span_context()
    if current.is_recording() and (same.trace_id, same.span_id) == (
        span_context.trace_id,
        span_context.span_id,
    ):
        return current, None  # the reference names the span we are in: it is still open
    return None, span_context


def _context_of(span: object) -> SpanContext | None:
    if isinstance(span, SpanContext):
        return span
    if isinstance(span, TracedSpan):
        return span.span_context
    if isinstance(span, Span):
        return span.get_span_context()
    context = getattr(span, "context", None)  # an SDK ReadableSpan (e.g. from an exporter)
    return context if isinstance(context, SpanContext) else None


def _event_attributes(score: _Score) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {}
    if score.extra:
        limit = runtime.max_attribute_bytes
        for key, raw in score.extra.items():
            attributes[str(key)] = _attribute(raw, limit)
    attributes[semconv.GEN_AI_EVALUATION_NAME] = score.name
    if score.value is not None:
        attributes[semconv.GEN_AI_EVALUATION_SCORE_VALUE] = float(score.value)
    if score.label is not None:
        attributes[semconv.GEN_AI_EVALUATION_SCORE_LABEL] = score.label
    if score.explanation is not None:
        attributes[semconv.GEN_AI_EVALUATION_EXPLANATION] = truncate_text(
            score.explanation, runtime.max_attribute_bytes
        )
    attributes[semconv.LLMTRACE_EVALUATION_SOURCE] = score.source
    return attributes


_attribute = to_attribute


def _emit_linked(name: str, target: SpanContext, event: dict[str, AttributeValue]) -> bool:
    """A child span of the (ended or remote) target, linked to it, carrying the score."""
    tracer = runtime.tracer()
    if tracer is None or suppressed():
        return False
    attributes = dict(event)
    attributes[semconv.LLMTRACE_SPAN_KIND] = EVALUATION_SPAN_KIND
    attributes[semconv.LLMTRACE_EVALUATION_TARGET] = format(target.span_id, "016x")
    if runtime.prompt_interop:  # Phoenix: an EVALUATOR span with the result as its output
        attributes.update(evaluation_attributes(event))
    links = [Link(target)]
    judge = trace.get_current_span().get_span_context()
    if judge.is_valid and judge.span_id != target.span_id:
        links.append(Link(judge))  # the run that produced the score (a judge, a handler)
    parent = trace.set_span_in_context(NonRecordingSpan(target))
    span = tracer.start_span(
        f"evaluation {name}",
        context=parent,
        kind=SpanKind.INTERNAL,
        attributes=attributes,
        links=links,
    )
    recorded = span.is_recording()
    span.add_event(semconv.GEN_AI_EVALUATION_RESULT_EVENT, event)
    span.end()
    return recorded
