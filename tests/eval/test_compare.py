"""``python -m llmtrace.eval compare``: a regression between two saved runs exits non-zero."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import llmtrace
from llmtrace.eval import EvalResult, compare
from llmtrace.eval._compare import Limit, parse_limit
from llmtrace.testing import SpanCapture
from tests.support.eval_server import CASES, PROMPT_CHATTY, PROMPT_TERSE


def exact(output: str, expected: str) -> bool:
    return output.strip() == expected


def saved_run(
    client: Any, path: Path, prompt: llmtrace.Prompt, model: str, cases: Any = CASES
) -> Path:
    def answer(input: str, variant: str) -> str:
        reply = client.chat.completions.create(
            model=variant, messages=prompt.format(question=input)
        )
        return str(reply.choices[0].message.content)

    result = llmtrace.evaluate(cases, answer, [exact], name="qa", variants={"prod": model})
    return result.write_json(path)


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmtrace.eval", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def runs(client: Any, captured: SpanCapture, tmp_path: Path) -> dict[str, Path]:
    exploding = [*CASES, {"input": "Please explode", "expected": "x", "id": "boom"}]
    return {
        "large": saved_run(client, tmp_path / "large.json", PROMPT_TERSE, "large-model"),
        "small": saved_run(client, tmp_path / "small.json", PROMPT_TERSE, "small-model"),
        "chatty": saved_run(client, tmp_path / "chatty.json", PROMPT_CHATTY, "large-model"),
        "errors": saved_run(
            client, tmp_path / "errors.json", PROMPT_TERSE, "large-model", exploding
        ),
    }


def test_a_score_drop_fails_the_gate(runs: dict[str, Path]) -> None:
    same = cli("compare", runs["large"], runs["large"], "--max-score-drop", "0.05")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "no regression" in same.stdout
    worse = cli(
        "compare", runs["large"], runs["small"], "--max-score-drop", "0.05",
        "--max-cost-increase", "10%",
    )  # fmt: skip
    assert worse.returncode == 1, worse.stdout + worse.stderr
    line = next(x for x in worse.stdout.splitlines() if x.startswith("prod") and "exact" in x)
    assert "1.000" in line and "0.750" in line and "REGRESSION" in line
    tolerant = cli("compare", runs["large"], runs["small"], "--max-score-drop", "0.3")
    assert tolerant.returncode == 0, tolerant.stdout


def test_a_cost_increase_fails_only_with_a_cost_limit(runs: dict[str, Path]) -> None:
    # small -> large: every score improves, cost per case grows tenfold.
    assert cli("compare", runs["small"], runs["large"]).returncode == 0
    capped = cli("compare", runs["small"], runs["large"], "--max-cost-increase", "10%")
    assert capped.returncode == 1
    assert "cost / case" in capped.stdout and "REGRESSION" in capped.stdout
    generous = cli("compare", runs["small"], runs["large"], "--max-cost-increase", "1000%")
    assert generous.returncode == 0, generous.stdout


def test_new_errors_fail_the_gate(runs: dict[str, Path]) -> None:
    result = cli("compare", runs["large"], runs["errors"])
    assert result.returncode == 1
    assert any("errors" in x and "REGRESSION" in x for x in result.stdout.splitlines())
    assert (
        cli("compare", runs["large"], runs["errors"], "--max-error-increase", "1").returncode == 0
    )


def test_variants_are_paired_by_label_or_explicitly(runs: dict[str, Path]) -> None:
    base, new = EvalResult.load(runs["large"]), EvalResult.load(runs["chatty"])
    comparison = compare(base, new, max_cost_increase="10%")
    assert {d.metric for d in comparison.regressions} == {"exact", "cost / case"}
    renamed = EvalResult.from_dict({**new.to_dict(), "cases": [
        {**c, "variant": "chatty"} for c in new.to_dict()["cases"]
    ]})  # fmt: skip
    assert compare(base, renamed).differences  # one variant each: paired anyway
    both = EvalResult("qa", base.run, base.cases + renamed.cases)
    within = compare(both, both, pairs=[("prod", "chatty")])
    assert [d.metric for d in within.regressions] == ["exact"]
    assert not compare(both, both).regressions


def test_report_command_and_bad_input(runs: dict[str, Path], tmp_path: Path) -> None:
    markdown = tmp_path / "run.md"
    shown = cli("report", runs["small"], "--markdown", markdown)
    assert shown.returncode == 0 and "eval qa" in shown.stdout
    assert markdown.read_text().startswith("## Evaluation `qa`")
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    bad = cli("compare", runs["small"], tmp_path / "bad.json")
    assert bad.returncode == 2 and "not an llmtrace evaluation run" in bad.stderr
    assert cli("compare", runs["small"], tmp_path / "missing.json").returncode == 2
    assert (
        cli("compare", runs["small"], runs["small"], "--max-cost-increase", "lots").returncode == 2
    )


@pytest.mark.parametrize(
    ("text", "limit"),
    [("10%", Limit(0.1, True)), ("0.002", Limit(0.002, False)), ("$1", Limit(1.0, False))],
)
def test_limits(text: str, limit: Limit) -> None:
    assert parse_limit(text) == limit


def test_limit_arithmetic() -> None:
    assert Limit(0.1, True).exceeded(1.0, 1.11) and not Limit(0.1, True).exceeded(1.0, 1.1)
    assert Limit(0.5, False).exceeded(1.0, 1.6) and not Limit(0.5, False).exceeded(1.0, 1.5)
    with pytest.raises(ValueError):
        parse_limit("-5%")
