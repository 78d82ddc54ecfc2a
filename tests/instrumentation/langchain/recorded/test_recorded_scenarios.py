"""llmtrace on recorded real LangChain traffic (issue 21), with ``init()``'s defaults.

Every scenario of ``tests.support.langchain_scenarios`` runs against the replay server and is
checked for: no exception into the caller but the user's own, one root and one
trace per invocation, span parents equal to LangChain's run tree, exactly one
LLM span per model request on the wire, usage equal to the recording (or
flagged as estimated where the recording has none), the response model and
finish reasons of the recording, errors recorded with their type, and token
roll-ups on the roots equal to the sum of their LLM spans (not doubled).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from llmtrace import semconv
from llmtrace.testing import SpanCapture
from tests.support.langchain_helpers import attrs
from tests.support.langchain_replay import Recording, ReplayServer, load_cassette
from tests.support.langchain_run_tree import RunTree
from tests.support.langchain_scenarios import (
    CLOSED_EARLY,
    SCENARIOS,
    Scenario,
    llm_spans,
    run_scenario,
)


def recorded_answer(recordings: list[Recording], response_id: str) -> Recording:
    for recording in recordings:
        if "completions" not in recording.path:
            continue
        first = recording.events()[0] if recording.is_stream else recording.json()
        if first.get("id") == response_id:
            return recording
    raise AssertionError(f"no recording answered {response_id}")


def recorded_usage_and_reasons(recording: Recording) -> tuple[Any, list[str], str]:
    if recording.is_stream:
        events = recording.events()
        usage = next((e["usage"] for e in events if e.get("usage")), None)
        reasons = [
            c["finish_reason"]
            for e in events
            for c in e.get("choices", [])
            if c.get("finish_reason")
        ]
        return usage, reasons, events[0]["model"]
    body = recording.json()
    return body.get("usage"), [c["finish_reason"] for c in body["choices"]], body["model"]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_recorded_scenario(scenario: Scenario, traced: SpanCapture, run_tree: RunTree) -> None:
    recordings = load_cassette(scenario.path)
    with ReplayServer(recordings, cut_stream_after=scenario.cut_stream_after) as server:
        outcomes = run_scenario(scenario, server, run_tree)
    replayed = server, recordings, outcomes
    check_every_recorded_model_answer_is_used(scenario, replayed)
    check_one_root_and_one_trace_per_invocation(scenario, traced)
    check_span_parents_follow_langchain_run_tree(scenario, traced, run_tree)
    check_one_llm_span_per_model_request(replayed, traced)
    check_usage_model_and_finish_reasons_as_recorded(replayed, traced)
    check_errors_recorded_with_their_type(scenario, replayed, traced)
    check_roll_ups_equal_the_llm_spans_beneath(scenario, traced)


def check_every_recorded_model_answer_is_used(scenario: Scenario, replayed: Any) -> None:
    server, _, outcomes = replayed
    assert len(outcomes) == scenario.runs
    assert server.remaining("/completions") == 0, "a recorded model answer was never requested"
    assert all(r.recording is not None for r in server.requests), "an unrecorded request was made"


def check_one_root_and_one_trace_per_invocation(scenario: Scenario, traced: SpanCapture) -> None:
    roots = traced.roots()
    assert len(roots) == scenario.runs, traced.tree()
    trace_ids = Counter(s.context.trace_id for s in traced.spans)
    assert len(trace_ids) == scenario.runs
    assert {r.context.trace_id for r in roots} == set(trace_ids)
    for span in traced.spans:
        if span.parent is not None:
            assert traced.parent_of(span) is not None, f"orphan {span.name}\n{traced.tree()}"


def check_span_parents_follow_langchain_run_tree(
    scenario: Scenario, traced: SpanCapture, run_tree: RunTree
) -> None:
    by_run: dict[str, ReadableSpan] = {}
    for span in traced.spans:
        run_id = attrs(span).get(semconv.LLMTRACE_LANGCHAIN_RUN_ID)
        if run_id is None:
            # Only the OpenAI client called directly inside a LangGraph node has no run.
            assert scenario.name.startswith("langgraph"), span.name
            parent = traced.parent_of(span)
            assert parent is not None
            assert attrs(parent)[semconv.LLMTRACE_LANGCHAIN_RUN_NAME] == "calculate"
            continue
        assert run_id not in by_run, f"two spans for run {run_id}"
        by_run[run_id] = span
    assert set(by_run) == {str(r) for r in run_tree.traced_runs()}
    for run_id, span in by_run.items():
        ancestor = run_tree.traced_ancestor(next(r for r in run_tree.runs if str(r) == run_id))
        parent = traced.parent_of(span)
        if ancestor is None:
            assert parent is None, f"{span.name} should be a root"
        else:
            assert parent is not None, f"{span.name} has no parent"
            assert attrs(parent)[semconv.LLMTRACE_LANGCHAIN_RUN_ID] == str(ancestor), span.name


def check_one_llm_span_per_model_request(replayed: Any, traced: SpanCapture) -> None:
    server, _, _ = replayed
    on_the_wire = server.served("/completions")
    assert on_the_wire
    assert len(llm_spans(traced)) == len(on_the_wire), traced.tree()


def check_usage_model_and_finish_reasons_as_recorded(replayed: Any, traced: SpanCapture) -> None:
    _, recordings, _ = replayed
    for span in llm_spans(traced):
        a = attrs(span)
        recording = recorded_answer(recordings, a[semconv.GEN_AI_RESPONSE_ID])
        usage, reasons, model = recorded_usage_and_reasons(recording)
        assert a[semconv.GEN_AI_RESPONSE_MODEL] == model
        if usage is None:
            assert a[semconv.LLMTRACE_USAGE_ESTIMATED] is True
            assert a[semconv.GEN_AI_USAGE_INPUT_TOKENS] > 0
        else:
            assert semconv.LLMTRACE_USAGE_ESTIMATED not in a
            assert a[semconv.GEN_AI_USAGE_INPUT_TOKENS] == usage["prompt_tokens"]
            assert a[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == usage["completion_tokens"]
        finished = span.status.status_code is not StatusCode.ERROR and not a.get(
            semconv.LLMTRACE_STREAM_ABANDONED
        )
        if finished:
            assert list(a[semconv.GEN_AI_RESPONSE_FINISH_REASONS]) == reasons


def check_errors_recorded_with_their_type(
    scenario: Scenario, replayed: Any, traced: SpanCapture
) -> None:
    _, _, outcomes = replayed
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    failed = [s for s in traced.spans if s.status.status_code is StatusCode.ERROR]
    if scenario.raises is None:
        assert not errors
        assert not failed, [(s.name, attrs(s).get(semconv.ERROR_TYPE)) for s in failed]
        return
    (error,) = errors
    (root,) = traced.roots()
    assert root.status.status_code is StatusCode.ERROR
    assert attrs(root)[semconv.ERROR_TYPE] == type(error).__qualname__
    for span in failed:
        assert attrs(span)[semconv.ERROR_TYPE], span.name
    if scenario.cut_stream_after is not None:
        # The model span records the wire error and what arrived before it.
        (call,) = llm_spans(traced)
        assert call.status.status_code is StatusCode.ERROR
        assert attrs(call)[semconv.ERROR_TYPE] == "APIConnectionError"
        assert attrs(call)[semconv.LLMTRACE_STREAM_CHUNKS] == scenario.cut_stream_after


def check_roll_ups_equal_the_llm_spans_beneath(scenario: Scenario, traced: SpanCapture) -> None:
    if scenario.name in CLOSED_EARLY:
        return  # checked in test_recorded_streams.py
    for root in traced.roots():
        calls = [s for s in llm_spans(traced) if s.context.trace_id == root.context.trace_id]
        a = attrs(root)
        if calls == [root]:  # the model was invoked on its own: nothing to roll up
            assert semconv.LLMTRACE_LLM_CALL_COUNT not in a
            continue
        assert a[semconv.LLMTRACE_LLM_CALL_COUNT] == len(calls)
        assert a[semconv.LLMTRACE_USAGE_TOTAL_INPUT_TOKENS] == sum(
            attrs(s)[semconv.GEN_AI_USAGE_INPUT_TOKENS] for s in calls
        )
        assert a[semconv.LLMTRACE_USAGE_TOTAL_OUTPUT_TOKENS] == sum(
            attrs(s)[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] for s in calls
        )
