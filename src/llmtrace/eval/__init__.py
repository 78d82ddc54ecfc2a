"""Evaluation runs: compare prompt and model versions on a dataset, and gate CI on them.

    import llmtrace
    from llmtrace.eval import Case

    cases = [Case("What is 2+2?", expected="4", id="add"), ...]

    def exact(output, expected):                       # a scorer: plain function
        return output.strip() == expected

    grade = llmtrace.judge(client, model="gpt-4o-mini") # an LLM as a judge, traced and priced

    def answer(input, variant):                         # variant: what `variants` holds
        messages = variant.format(question=input)
        return client.chat.completions.create(model="gpt-4o-mini", messages=messages)...

    result = llmtrace.evaluate(cases, answer, scorers=[exact, grade], variants=[QA_V1, QA_V2])
    print(result.report())                              # variants side by side
    result.write_json("eval.json"); result.write_markdown("eval.md")

    # in CI:  python -m llmtrace.eval compare base.json eval.json --max-score-drop 0.05

Each case and variant is one trace whose root span carries the scores as
``gen_ai.evaluation.result`` events; cost, tokens and latency come from that
trace's spans. See ``docs/evaluation.md``; the pytest plugin is
``llmtrace.eval.pytest_plugin`` (``pytest -p llmtrace.eval.pytest_plugin``).
"""

from __future__ import annotations

from ._cases import Case, Score
from ._compare import Comparison, Difference, compare
from ._judge import DEFAULT_JUDGE_PROMPT, AsyncJudge, Judge, JudgeError, judge
from ._result import CaseResult, EvalResult, ScoreSummary, VariantSummary
from ._runner import aevaluate, evaluate

__all__ = [
    "DEFAULT_JUDGE_PROMPT",
    "AsyncJudge",
    "Case",
    "CaseResult",
    "Comparison",
    "Difference",
    "EvalResult",
    "Judge",
    "JudgeError",
    "Score",
    "ScoreSummary",
    "VariantSummary",
    "aevaluate",
    "compare",
    "evaluate",
    "judge",
]
