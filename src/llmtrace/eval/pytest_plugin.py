"""pytest plugin: evaluation cases as parametrised tests, scores and cost in the summary.

Turn it on with ``pytest -p llmtrace.eval.pytest_plugin`` or, in a ``conftest.py``,
``pytest_plugins = ["llmtrace.eval.pytest_plugin"]``. Then::

    from llmtrace.eval.pytest_plugin import cases

    @pytest.mark.parametrize("case", cases(CASES))            # one test per case, ids = case ids
    @pytest.mark.parametrize("model", ["gpt-4o-mini", "gpt-4o"])
    def test_answers(case, model, llmtrace_eval):
        llmtrace_eval(case, answer, scorers=[exact, grade], variant=model,
                      thresholds={"exact": 1.0, "judge": 0.5}, max_cost_usd=0.01)

``llmtrace_eval`` runs the case through ``llmtrace.evaluate`` (same traces, same
scores) and fails the test when the task or a scorer raises, a score is below its
threshold, or the case cost more than ``max_cost_usd``. At the end of the session
the terminal summary shows each evaluation's report (variants side by side);
``--llmtrace-eval-json PATH`` also saves it, ready for ``python -m llmtrace.eval compare``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from ._cases import Case, dataset_hash, normalise_cases, normalise_variants
from ._result import CaseResult, EvalResult
from ._runner import evaluate

__all__ = ["CaseEvaluator", "cases", "llmtrace_eval"]

_RESULTS = pytest.StashKey[list[tuple[EvalResult, Case]]]()
_UNSET: Any = object()


def cases(items: Iterable[Any]) -> list[Any]:
    """``pytest.param`` objects for ``@pytest.mark.parametrize("case", ...)``, ids = case ids."""
    return [pytest.param(case, id=str(case.id)) for case in normalise_cases(items)]


class CaseEvaluator:
    """The ``llmtrace_eval`` fixture's value: evaluate one case, fail the test on a miss."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request

    def __call__(
        self,
        case: Any,
        task: Callable[..., Any],
        scorers: Sequence[Callable[..., Any]] = (),
        *,
        name: str | None = None,
        variant: Any = _UNSET,
        label: str | None = None,
        thresholds: Mapping[str, float] | None = None,
        max_cost_usd: float | None = None,
        seed: int = 0,
    ) -> CaseResult:
        """Run ``task`` on ``case`` (one variant at most) and check it; the ``CaseResult``."""
        __tracebackhide__ = True
        (checked,) = normalise_cases([case])
        variants = None
        if variant is not _UNSET:
            variants = {label or normalise_variants([variant])[0].label: variant}
        result = evaluate(
            [checked],
            task,
            scorers,
            name=name or self._request.function.__name__,
            variants=variants,
            seed=seed,
            progress=False,
        )
        self._request.config.stash.setdefault(_RESULTS, []).append((result, checked))
        outcome = result.cases[0]
        problems = _problems(outcome, thresholds or {}, max_cost_usd)
        if problems:
            pytest.fail(f"case {outcome.case_id} ({outcome.variant}): " + "; ".join(problems))
        return outcome


def _problems(
    outcome: CaseResult, thresholds: Mapping[str, float], max_cost_usd: float | None
) -> list[str]:
    if outcome.error is not None:
        return [f"the task raised {outcome.error}"]
    problems = [f"scorer {name} raised {error}" for name, error in outcome.score_errors.items()]
    for name, minimum in thresholds.items():
        value = outcome.scores.get(name)
        if value is None:
            problems.append(f"no {name} score")
        elif value < minimum:
            problems.append(f"{name} = {value:g} < {minimum:g}")
    cost = outcome.cost_usd
    if max_cost_usd is not None and cost is not None and cost > max_cost_usd:
        problems.append(f"cost ${cost:.6f} > ${max_cost_usd:.6f}")
    return problems


@pytest.fixture
def llmtrace_eval(request: pytest.FixtureRequest) -> CaseEvaluator:
    """Evaluate one case inside a test; see the module docs."""
    return CaseEvaluator(request)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmtrace", "llmtrace evaluation")
    group.addoption(
        "--llmtrace-eval-json",
        metavar="PATH",
        help="save the evaluations run by llmtrace_eval as JSON (one file per evaluation name "
        "when there are several: PATH with -<name> before the suffix)",
    )


def merged(collected: Sequence[tuple[EvalResult, Case]]) -> list[EvalResult]:
    """One result per evaluation name, its cases in the order they ran."""
    by_name: dict[str, list[tuple[EvalResult, Case]]] = {}
    for result, case in collected:
        by_name.setdefault(result.name, []).append((result, case))
    results = []
    for name, runs in by_name.items():
        first = runs[0][0]
        unique = list({case.id: case for _, case in runs}.values())
        variants: dict[str, Any] = {}
        for result, _ in runs:
            for label, described in result.run.get("variants", {}).items():
                seen = variants.setdefault(label, {**described, "models": [], "prompts": []})
                for key in ("models", "prompts"):
                    seen[key] = sorted(set(seen[key]) | set(described.get(key, [])))
        run = {
            **first.run,
            "cases": len(unique),
            "dataset_hash": dataset_hash(unique),
            "variants": variants,
        }
        results.append(EvalResult(name, run, [r.cases[0] for r, _ in runs]))
    return results


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    collected = config.stash.get(_RESULTS, [])
    if not collected:
        return
    results = merged(collected)
    terminalreporter.write_sep("=", "llmtrace evaluation")
    for result in results:
        terminalreporter.write_line(result.report())
        terminalreporter.write_line("")
    target = config.getoption("--llmtrace-eval-json")
    if target:
        for result in results:
            path = Path(target)
            if len(results) > 1:
                path = path.with_name(f"{path.stem}-{result.name}{path.suffix}")
            result.write_json(path)
            terminalreporter.write_line(f"llmtrace evaluation saved to {path}")
