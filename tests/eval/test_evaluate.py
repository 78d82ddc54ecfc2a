"""``llmtrace.evaluate`` against a local OpenAI-compatible server: 20 cases, two prompt
versions and two models, a deterministic judge served by the same server.

The report's numbers are checked against the spans themselves (the task span's
roll-ups, the LLM spans' usage and cost, the evaluation events on the root span).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

import llmtrace
from llmtrace import semconv
from llmtrace.eval import CaseResult, EvalResult, Score
from llmtrace.testing import SpanCapture
from tests.support.eval_server import (
    CASES,
    PROMPT_CHATTY,
    PROMPT_TERSE,
    QUESTIONS,
    SMALL_MODEL_MISSES,
    EvalServer,
)

VARIANTS = {
    "terse-large": (PROMPT_TERSE, "large-model"),
    "terse-small": (PROMPT_TERSE, "small-model"),
    "chatty-large": (PROMPT_CHATTY, "large-model"),
    "chatty-small": (PROMPT_CHATTY, "small-model"),
}


def make_task(client: Any) -> Any:
    def answer(input: str, variant: tuple[llmtrace.Prompt, str]) -> str:
        prompt, model = variant
        messages = prompt.format(question=input)
        reply = client.chat.completions.create(model=model, messages=messages)
        return str(reply.choices[0].message.content)

    return answer


def exact(output: str, expected: str) -> bool:
    return output.strip() == expected


def run_all(client: Any, **kwargs: Any) -> EvalResult:
    grade = llmtrace.judge(client, model="judge-model")
    return llmtrace.evaluate(
        CASES, make_task(client), [exact, grade], name="qa", variants=VARIANTS, **kwargs
    )


def roots(captured: SpanCapture) -> dict[tuple[str, str], ReadableSpan]:
    found = {}
    for span in captured.roots():
        attributes = span.attributes or {}
        if span.name == "eval qa":
            key = (
                attributes[semconv.LLMTRACE_EVAL_VARIANT],
                attributes[semconv.LLMTRACE_EVAL_CASE_ID],
            )
            found[key] = span
    return found


def descendants(captured: SpanCapture, span: ReadableSpan) -> list[ReadableSpan]:
    result = []
    for child in captured.children(span):
        result.append(child)
        result.extend(descendants(captured, child))
    return result


def llm_spans(captured: SpanCapture, span: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in descendants(captured, span) if s.name.startswith("chat ")]


def test_scores_follow_the_prompts_and_models(client: Any, captured: SpanCapture) -> None:
    result = run_all(client)
    summary = result.summary()
    assert result.variants == list(VARIANTS)
    assert len(result.cases) == 80 and not result.errors
    misses = len(SMALL_MODEL_MISSES) / len(CASES)
    assert summary["terse-large"].scores["exact"].mean == 1.0
    assert summary["terse-large"].scores["judge"].mean == 1.0
    assert summary["terse-small"].scores["exact"].mean == pytest.approx(1 - misses)
    assert summary["chatty-large"].scores["exact"].mean == 0.0
    assert summary["chatty-large"].scores["judge"].mean == 0.5  # "partially_correct"
    assert summary["chatty-small"].scores["judge"].mean == pytest.approx(0.5 * (1 - misses))
    case = next(c for c in result.cases if c.variant == "chatty-large")
    assert case.labels["judge"] == "partially_correct"
    assert case.explanations["judge"].startswith("partially_correct")


def test_report_numbers_equal_what_the_spans_say(client: Any, captured: SpanCapture) -> None:
    result = run_all(client)
    by_case = roots(captured)
    assert len(by_case) == 80
    assert len({s.context.trace_id for s in by_case.values()}) == 80  # one trace per case
    for case in result.cases:
        root = by_case[(case.variant, case.case_id)]
        assert case.trace_id == format(root.context.trace_id, "032x")
        task, *scorers = captured.children(root)
        assert task.name == "answer"
        assert [s.name for s in scorers] == ["score exact", "score judge"]
        calls = llm_spans(captured, task)
        assert len(calls) == 1 == case.llm_calls
        usage_in = sum(s.attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] for s in calls)
        usage_out = sum(s.attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] for s in calls)
        cost = math.fsum(s.attributes[semconv.GEN_AI_USAGE_COST_AMOUNT] for s in calls)
        assert (case.input_tokens, case.output_tokens) == (usage_in, usage_out)
        assert case.cost_usd == pytest.approx(cost, rel=1e-9)
        assert case.cost_usd == task.attributes[semconv.LLMTRACE_COST_TOTAL]
        assert case.latency_s == (task.end_time - task.start_time) / 1e9
        judge_calls = llm_spans(captured, scorers[1])
        judge_cost = math.fsum(s.attributes[semconv.GEN_AI_USAGE_COST_AMOUNT] for s in judge_calls)
        assert case.judge_cost_usd == pytest.approx(judge_cost, rel=1e-9)
        assert judge_calls[0].attributes[semconv.GEN_AI_PROMPT_NAME] == "llmtrace-judge"
        events = {
            e.attributes[semconv.GEN_AI_EVALUATION_NAME]: e
            for e in root.events
            if e.name == semconv.GEN_AI_EVALUATION_RESULT_EVENT
        }
        assert set(events) == {"exact", "judge"}
        for name, event in events.items():
            assert event.attributes[semconv.GEN_AI_EVALUATION_SCORE_VALUE] == case.scores[name]
        assert events["judge"].attributes[semconv.LLMTRACE_EVALUATION_SOURCE] == "llm_judge"
        assert events["exact"].attributes[semconv.LLMTRACE_EVALUATION_SOURCE] == "code"
    for label, summary in result.summary().items():
        tasks = [captured.children(r)[0] for (v, _), r in by_case.items() if v == label]
        spans_cost = math.fsum(t.attributes[semconv.LLMTRACE_COST_TOTAL] for t in tasks)
        assert summary.total_cost_usd == pytest.approx(spans_cost, rel=1e-9)
        assert summary.cost_per_case_usd == pytest.approx(spans_cost / len(tasks), rel=1e-9)
        spans_in = sum(t.attributes[semconv.LLMTRACE_USAGE_TOTAL_INPUT_TOKENS] for t in tasks)
        assert summary.input_tokens_per_case == pytest.approx(spans_in / len(tasks))
        latencies = sorted((t.end_time - t.start_time) / 1e9 for t in tasks)
        assert latencies[0] <= summary.latency_p50_s <= summary.latency_p95_s <= latencies[-1]


def test_variant_and_prompt_reach_the_llm_spans(client: Any, captured: SpanCapture) -> None:
    result = run_all(client)
    root = roots(captured)[("chatty-small", "q03")]
    call = llm_spans(captured, captured.children(root)[0])[0]
    assert call.attributes["llmtrace.variant.qa"] == "chatty-small"
    assert call.attributes[semconv.GEN_AI_PROMPT_VERSION] == PROMPT_CHATTY.version
    assert root.attributes[semconv.LLMTRACE_EVAL_DATASET_HASH] == result.run["dataset_hash"]
    assert root.attributes[semconv.LLMTRACE_EVAL_RUN_ID] == result.run["run_id"]


def test_the_run_records_what_makes_it_reproducible(
    client: Any, server: EvalServer, captured: SpanCapture
) -> None:
    server.requests.clear()
    first = run_all(client, seed=7)
    run = first.run
    assert run["seed"] == 7 and run["llmtrace_version"] == llmtrace.__version__
    assert len(run["dataset_hash"]) == 16
    chatty = run["variants"]["chatty-small"]
    assert chatty["models"] == ["small-model -> small-model-2025-01"]
    assert chatty["prompts"] == [f"qa@{PROMPT_CHATTY.version}"]
    judge = next(s for s in run["scorers"] if s["name"] == "judge")
    assert judge["model"] == "judge-model" and judge["prompt"] == "llmtrace-judge@1"
    judged = [r for r in server.requests if r["model"] == "judge-model"]
    assert judged and all(r["seed"] == 7 and r["temperature"] == 0.0 for r in judged)

    second = run_all(client, seed=7)

    def stable(result: EvalResult) -> Any:
        data = result.to_dict()
        for key in ("run_id", "started_at", "duration_s"):
            data["run"].pop(key)
        for case in data["cases"]:
            case.pop("latency_s"), case.pop("trace_id")
        for summary in data["summary"].values():
            summary.pop("latency_p50_s"), summary.pop("latency_p95_s")
        return data

    assert stable(first) == stable(second)
    assert EvalResult.from_dict(first.to_dict()).to_dict() == first.to_dict()


def test_a_failing_task_is_reported_and_the_run_goes_on(client: Any, captured: SpanCapture) -> None:
    cases = [*CASES[:5], {"input": "Please explode now", "expected": "x", "id": "boom"}]
    result = llmtrace.evaluate(
        cases, make_task(client), [exact], name="qa", variants={"v": (PROMPT_TERSE, "large-model")}
    )
    failed = [c for c in result.cases if c.error]
    assert [c.case_id for c in failed] == ["boom"]
    assert failed[0].error.startswith("InternalServerError")
    assert failed[0].scores == {}
    assert result.summary()["v"].errors == 1
    assert failed[0].cost_usd is None  # the failed call had no usage: cost unknown, not 0
    assert result.summary()["v"].cost_unknown == 1
    assert "(1 n/a)" in result.report()
    assert result.summary()["v"].scores["exact"].n == 5
    task = captured.children(roots(captured)[("v", "boom")])[0]
    assert task.status.status_code is StatusCode.ERROR
    assert "boom" in result.report() and "InternalServerError" in result.to_markdown()


def test_a_failing_scorer_is_recorded_for_its_case(captured: SpanCapture) -> None:
    def picky(output: int) -> float:
        if output == 2:
            raise ZeroDivisionError("no")
        return 1.0

    result = llmtrace.evaluate([1, 2, 3], lambda x: x, [picky], progress=False)
    assert [c.score_errors for c in result.cases] == [{}, {"picky": "ZeroDivisionError: no"}, {}]
    assert result.summary()["default"].scores["picky"].n == 2


async def test_async_task_and_async_judge(async_client: Any, captured: SpanCapture) -> None:
    async def answer(question: str, variant: str) -> str:
        messages = PROMPT_TERSE.format(question=question)
        reply = await async_client.chat.completions.create(model=variant, messages=messages)
        return str(reply.choices[0].message.content)

    grade = llmtrace.judge(async_client, model="judge-model", name="grade")
    assert isinstance(grade, llmtrace.eval.AsyncJudge)
    result = await llmtrace.eval.aevaluate(
        CASES, answer, [grade], variants=["large-model", "small-model"], concurrency=8
    )
    assert not result.errors, result.report()
    summary = result.summary()
    assert summary["large-model"].scores["grade"].mean == 1.0
    small = [c.scores.get("grade") for c in result.for_variant("small-model")]
    assert small == [0.0 if q in SMALL_MODEL_MISSES else 1.0 for q, _ in QUESTIONS]
    assert all(c.cost_usd and c.judge_cost_usd for c in result.cases)
    assert len(captured.roots()) == 40


async def test_evaluate_inside_a_running_loop(client: Any, captured: SpanCapture) -> None:
    # A sync call from async code (a notebook cell): evaluate() runs on a thread of its own.
    result = llmtrace.evaluate(
        CASES[:4], make_task(client), [exact], variants={"v": (PROMPT_TERSE, "large-model")}
    )
    assert [c.scores["exact"] for c in result.cases] == [1.0] * 4


def test_without_tracing_set_up_the_run_traces_privately(server: EvalServer) -> None:
    import openai

    from llmtrace._runtime import runtime
    from llmtrace.instrumentation.openai import is_instrumented

    assert runtime.tracer() is None and not is_instrumented()
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
        result = llmtrace.evaluate(
            CASES[:3], make_task(client), [exact], variants={"v": (PROMPT_TERSE, "small-model")}
        )
    assert all(c.cost_usd and c.input_tokens and c.llm_calls == 1 for c in result.cases)
    assert result.run["variants"]["v"]["models"] == ["small-model -> small-model-2025-01"]
    assert runtime.tracer() is None and not is_instrumented()  # all undone


def test_score_shapes(captured: SpanCapture) -> None:
    def several(output: int) -> dict[str, Any]:
        return {"double": output * 2, "odd": output % 2 == 1, "skip": None}

    def labelled(output: int) -> Score:
        return Score(None, label="odd" if output % 2 else "even")

    result = llmtrace.evaluate([1, 2], lambda x: x, [several, labelled])
    first = result.cases[0]
    assert first.scores == {"double": 2.0, "odd": 1.0, "labelled": None}
    assert first.labels == {"labelled": "odd"}
    root = captured.roots()[0]
    names = [e.attributes[semconv.GEN_AI_EVALUATION_NAME] for e in root.events]
    assert names == ["double", "odd", "labelled"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"variants": ["a", "a"]}, "unique"),
        ({"variants": [object()]}, "mapping label"),
        ({"concurrency": 0}, "concurrency"),
        ({"scorers": [lambda answer, reference: 1]}, "reference"),
    ],
)
def test_bad_arguments_raise_before_running(kwargs: dict[str, Any], error: str) -> None:
    calls: list[Any] = []

    def task(input: Any, variant: Any = None) -> Any:
        calls.append(input)
        return input

    arguments = {"scorers": [], **kwargs}
    with pytest.raises((ValueError, TypeError), match=error):
        llmtrace.evaluate([1, 2], task, **arguments)
    assert calls == []


def test_variants_need_a_task_that_takes_them() -> None:
    with pytest.raises(TypeError, match="no 'variant' parameter"):
        llmtrace.evaluate([1], lambda x: x, variants=["a"])


def test_case_results_round_trip() -> None:
    case = CaseResult("c1", "v", input="q", scores={"s": 1.0}, models=["m"])
    assert CaseResult.from_dict(case.__dict__) == case


def test_scorers_get_the_task_output_itself(captured: SpanCapture) -> None:
    class Answer:
        def __init__(self, text: str) -> None:
            self.text = text

    def long_enough(output: Answer, expected: int) -> bool:
        return len(output.text) >= expected

    result = llmtrace.evaluate(
        [{"input": "abc", "expected": 3}, {"input": "a", "expected": 3}],
        lambda text: Answer(text),
        [long_enough],
    )
    assert [c.scores["long_enough"] for c in result.cases] == [1.0, 0.0]
    assert result.cases[0].output.startswith("<")  # the saved copy is the object's repr
