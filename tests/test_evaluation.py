"""record_score(): scores as events on open spans, as linked spans on ended ones, never raising."""

from __future__ import annotations

import logging
import re
import subprocess
import sys

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext, TraceFlags

import llmtrace
from llmtrace import _evaluation as evaluation
from llmtrace._evaluation import parse_reference
from llmtrace._runtime import runtime
from llmtrace.testing import SpanCapture

TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
RESULT = "gen_ai.evaluation.result"


@llmtrace.trace(name="answer")
def answer(question: str) -> dict[str, object]:
    return {"text": f"echo {question}", "trace": llmtrace.trace_reference()}


def results(span: ReadableSpan) -> list[dict[str, object]]:
    return [dict(e.attributes or {}) for e in span.events if e.name == RESULT]


# -- references -------------------------------------------------------------------------
def test_current_span_context_inside_and_outside_spans(captured: SpanCapture) -> None:
    assert llmtrace.current_span_context() is None
    with llmtrace.span("work") as span:
        assert llmtrace.current_span_context() == span.span_context


def test_a_reference_is_a_traceparent_that_parses_back(captured: SpanCapture) -> None:
    reply = answer("hi")
    reference = reply["trace"]
    assert isinstance(reference, str) and TRACEPARENT.match(reference)
    context = parse_reference(reference)
    original = captured.find("answer").context
    assert context is not None and context.is_remote
    assert (context.trace_id, context.span_id) == (original.trace_id, original.span_id)
    assert llmtrace.trace_reference(captured.find("answer")) == reference  # ended span
    assert llmtrace.trace_reference(context) == reference


def test_no_span_no_reference() -> None:
    assert llmtrace.trace_reference() is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ],
)
def test_malformed_references_parse_to_none(text: str) -> None:
    assert parse_reference(text) is None


# -- open spans: an event ---------------------------------------------------------------
def test_a_score_on_the_open_current_span_is_an_event(captured: SpanCapture) -> None:
    with llmtrace.span("answer"):
        assert llmtrace.record_score(
            "correctness", 0.75, label="mostly", explanation="one detail off", source="llm_judge"
        )
    [event] = results(captured.find("answer"))
    assert event == {
        "gen_ai.evaluation.name": "correctness",
        "gen_ai.evaluation.score.value": 0.75,
        "gen_ai.evaluation.score.label": "mostly",
        "gen_ai.evaluation.explanation": "one detail off",
        "llmtrace.evaluation.source": "llm_judge",
    }
    assert captured.names() == ["answer"]  # no extra span


def test_a_score_on_a_given_open_span(captured: SpanCapture) -> None:
    with llmtrace.span("outer") as outer, llmtrace.span("inner"):
        assert llmtrace.record_score("format_ok", True, span=outer, source="code")
    assert results(captured.find("outer"))[0]["gen_ai.evaluation.score.value"] == 1.0
    assert results(captured.find("inner")) == []


def test_a_reference_to_the_span_still_open_adds_the_event_there(captured: SpanCapture) -> None:
    with llmtrace.span("answer"):
        reference = llmtrace.trace_reference()
        assert llmtrace.record_score("thumbs", 1, reference=reference)
    assert len(results(captured.find("answer"))) == 1
    assert captured.names() == ["answer"]


def test_labels_without_values_and_extra_attributes(captured: SpanCapture) -> None:
    with llmtrace.span("answer"):
        llmtrace.record_score(
            "tone", None, label="friendly", attributes={"judge.model": "m", "rubric": [1, 2]}
        )
    [event] = results(captured.find("answer"))
    assert "gen_ai.evaluation.score.value" not in event
    assert event["gen_ai.evaluation.score.label"] == "friendly"
    assert event["judge.model"] == "m"
    assert event["rubric"] == "[1,2]"


# -- ended spans: a linked span in the same trace ---------------------------------------
def test_a_score_on_an_ended_span_is_a_linked_child_span(captured: SpanCapture) -> None:
    reply = answer("hi")
    target = captured.find("answer")
    assert llmtrace.record_score(
        "helpfulness", 0.5, label="ok", reference=str(reply["trace"]), source="human"
    )
    scored = captured.find("evaluation helpfulness")
    assert scored.context.trace_id == target.context.trace_id
    assert scored.parent is not None and scored.parent.span_id == target.context.span_id
    [link] = scored.links
    assert (link.context.trace_id, link.context.span_id) == (
        target.context.trace_id,
        target.context.span_id,
    )
    assert scored.attributes["gen_ai.evaluation.score.value"] == 0.5
    assert scored.attributes["llmtrace.evaluation.target_span_id"] == format(
        target.context.span_id, "016x"
    )
    assert results(scored)[0]["gen_ai.evaluation.name"] == "helpfulness"
    assert results(target) == []


@pytest.mark.parametrize("form", ["traced_span", "readable_span", "span_context"])
def test_every_way_of_naming_an_ended_span(captured: SpanCapture, form: str) -> None:
    with llmtrace.span("answer") as traced:
        pass
    target = captured.find("answer")
    given = {
        "traced_span": {"span": traced},
        "readable_span": {"span": target},
        "span_context": {"span_context": target.context},
    }[form]
    assert llmtrace.record_score("relevance", 1.0, **given)  # type: ignore[arg-type]
    scored = captured.find("evaluation relevance")
    assert scored.parent is not None and scored.parent.span_id == target.context.span_id


def test_a_score_from_another_process_lands_in_the_same_trace(captured: SpanCapture) -> None:
    # The reference is made in a separate Python process and recorded here.
    code = (
        "import llmtrace\n"
        "from llmtrace.testing import capture_spans\n"
        "with capture_spans(), llmtrace.span('answer'):\n"
        "    print(llmtrace.trace_reference())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    reference = out.stdout.strip()
    assert TRACEPARENT.match(reference)
    assert llmtrace.record_score("thumbs", 1, label="up", reference=reference)
    scored = captured.find("evaluation thumbs")
    assert format(scored.context.trace_id, "032x") == reference.split("-")[1]
    assert scored.parent is not None and scored.parent.is_remote
    assert format(scored.parent.span_id, "016x") == reference.split("-")[2]


def test_a_score_recorded_inside_a_judge_run_links_to_it_too(captured: SpanCapture) -> None:
    reply = answer("hi")
    with llmtrace.span("judge") as judge:
        llmtrace.record_score("relevance", 1, reference=str(reply["trace"]), source="llm_judge")
    scored = captured.find("evaluation relevance")
    assert scored.parent is not None
    assert scored.parent.span_id == captured.find("answer").context.span_id
    assert [link.context.span_id for link in scored.links] == [
        captured.find("answer").context.span_id,
        judge.span_context.span_id,
    ]


def test_an_unsampled_target_gets_no_score_span(captured: SpanCapture) -> None:
    unsampled = SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.DEFAULT),
    )
    assert llmtrace.record_score("x", 1, span_context=unsampled) is False
    assert captured.spans == []


def test_scores_keep_the_session_of_where_they_are_recorded(captured: SpanCapture) -> None:
    reply = answer("hi")
    with llmtrace.session(user_id="reviewer-1"):
        llmtrace.record_score("thumbs", 0, reference=str(reply["trace"]))
    assert captured.find("evaluation thumbs").attributes["user.id"] == "reviewer-1"


def test_long_explanations_are_cut_to_the_attribute_limit(
    captured: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "max_attribute_bytes", 256)
    with llmtrace.span("answer"):
        llmtrace.record_score("judge", 0.1, explanation="why " * 1000)
    explanation = results(captured.find("answer"))[0]["gen_ai.evaluation.explanation"]
    assert isinstance(explanation, str) and len(explanation.encode()) <= 256


# -- never raises -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "complaint"),
    [
        ({"name": "", "value": 1}, "name"),
        ({"name": "x", "value": "high"}, "finite number"),
        ({"name": "x", "value": float("nan")}, "finite number"),
        ({"name": "x", "value": None}, "value, a label"),
        ({"name": "x", "value": 1, "label": 3}, "label"),
        ({"name": "x", "value": 1, "explanation": b"?"}, "explanation"),
        ({"name": "x", "value": 1, "source": "robot"}, "source"),
        ({"name": "x", "value": 1, "reference": "nope"}, "reference"),
        ({"name": "x", "value": 1, "span_context": "nope"}, "span_context"),
        ({"name": "x", "value": 1, "span": object()}, "cannot use"),
        ({"name": "x", "value": 1, "reference": "a", "span": object()}, "at most one"),
        ({"name": "x", "value": 1}, "no span"),
    ],
)
def test_bad_input_is_logged_and_returns_false(
    captured: SpanCapture,
    caplog: pytest.LogCaptureFixture,
    kwargs: dict[str, object],
    complaint: str,
) -> None:
    with caplog.at_level(logging.WARNING, logger="llmtrace"):
        assert llmtrace.record_score(**kwargs) is False  # type: ignore[arg-type]
    assert complaint in caplog.text
    assert captured.spans == []


def test_tracing_off_records_nothing_and_does_not_fail() -> None:
    assert runtime.tracer() is None
    reference = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert llmtrace.record_score("x", 1, reference=reference) is False


def test_suppressed_instrumentation_makes_no_score_span(captured: SpanCapture) -> None:
    reply = answer("hi")
    captured.clear()
    with suppress_instrumentation():
        assert llmtrace.record_score("x", 1, reference=str(reply["trace"])) is False
    assert captured.spans == []


def test_an_internal_error_is_swallowed(
    captured: SpanCapture, lenient: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("bug in llmtrace")

    monkeypatch.setattr(evaluation, "_event_attributes", broken)
    with llmtrace.span("answer"):
        assert llmtrace.record_score("x", 1) is False
    assert captured.names() == ["answer"]


def test_an_internal_error_fails_llmtraces_own_tests(
    captured: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluation, "_event_attributes", lambda *a: 1 / 0)
    with llmtrace.span("answer"), pytest.raises(ZeroDivisionError):
        llmtrace.record_score("x", 1)


def test_a_non_recording_current_span_is_not_an_open_target(captured: SpanCapture) -> None:
    unsampled = trace.NonRecordingSpan(
        SpanContext(0x1, 0x2, is_remote=True, trace_flags=TraceFlags(TraceFlags.DEFAULT))
    )
    with trace.use_span(unsampled):
        assert llmtrace.record_score("x", 1) is False
    assert captured.spans == []


def test_trace_reference_never_raises_into_the_app(lenient: None) -> None:
    class HostileSpan:
        @property
        def context(self) -> object:
            raise RuntimeError("not a span after all")

    assert llmtrace.trace_reference(HostileSpan()) is None
