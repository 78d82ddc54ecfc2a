"""The terminal trace tree printed when a root span ends."""

from __future__ import annotations

import io

import pytest

import llmtrace
from llmtrace import semconv
from llmtrace._console import ConsoleTreeProcessor
from llmtrace.testing import capture_spans


def run_traced(out: io.StringIO) -> None:
    with capture_spans(extra_processors=[ConsoleTreeProcessor(stream=out, color=False)]):
        with llmtrace.span("answer", kind="workflow"):
            with llmtrace.span("retrieve", kind="retriever"):
                pass
            with llmtrace.span("chat gpt-4o-mini", kind="llm") as llm:
                llm.set_attributes(
                    {
                        semconv.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
                        semconv.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
                        semconv.GEN_AI_USAGE_INPUT_TOKENS: 812,
                        semconv.GEN_AI_USAGE_OUTPUT_TOKENS: 95,
                        semconv.GEN_AI_USAGE_COST_AMOUNT: 0.0001788,
                        semconv.GEN_AI_PROMPT_NAME: "support",
                        semconv.GEN_AI_PROMPT_VERSION: "3",
                    }
                )
            with pytest.raises(TimeoutError), llmtrace.span("tool call", kind="tool"):
                raise TimeoutError("slow tool")


def test_tree_shows_nesting_models_tokens_cost_and_errors() -> None:
    out = io.StringIO()
    run_traced(out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("invoke_workflow answer")
    assert lines[1].startswith("├── retrieve")
    assert lines[2].startswith("├── chat gpt-4o-mini  → gpt-4o-mini-2024-07-18")
    assert "in 812 · out 95 tok" in lines[2]
    assert "$0.000179" in lines[2]
    assert "prompt support@3" in lines[2]
    assert lines[3].startswith("└── execute_tool tool call")
    assert "✗ TimeoutError: slow tool" in lines[4]


def test_only_root_spans_trigger_printing_and_state_is_released() -> None:
    out = io.StringIO()
    processor = ConsoleTreeProcessor(stream=out, color=False)
    with capture_spans(extra_processors=[processor]):
        with llmtrace.span("root"):
            with llmtrace.span("child"):
                pass
            assert out.getvalue() == ""
    assert out.getvalue().count("root") == 1
    assert processor._pending == {}


def test_colour_codes_only_when_asked() -> None:
    out = io.StringIO()
    with capture_spans(extra_processors=[ConsoleTreeProcessor(stream=out, color=True)]):
        with pytest.raises(ValueError), llmtrace.span("bad"):
            raise ValueError("x")
    assert "\x1b[31m" in out.getvalue()


def test_a_span_ending_after_its_trace_was_printed_is_shown_on_its_own_line() -> None:
    from opentelemetry import trace

    out = io.StringIO()
    with capture_spans(extra_processors=[ConsoleTreeProcessor(stream=out, color=False)]) as cap:
        with llmtrace.span("answer") as root:
            pass
        late_context = trace.set_span_in_context(root.span)
        tracer = cap.tracer_provider.get_tracer("test")
        late = tracer.start_span("evaluation helpfulness", context=late_context)
        late.set_attribute(semconv.GEN_AI_EVALUATION_SCORE_VALUE, 0.9)
        late.set_attribute(semconv.GEN_AI_EVALUATION_SCORE_LABEL, "good")
        late.end()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("answer")
    assert lines[1].startswith("  ↳ late: evaluation helpfulness")
    assert "score 0.9 (good)" in lines[1]
