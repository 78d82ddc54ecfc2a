"""The pytest plugin, run as a user would: pytest in a subprocess over a generated test file,
against the local server; thresholds fail tests, the summary shows scores and cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from llmtrace.eval import EvalResult
from tests.support import REPO
from tests.support.eval_server import PRICES, EvalServer

TEST_FILE = """
import os

import openai
import pytest
from tests.support.eval_server import CASES, PROMPT_TERSE

import llmtrace
from llmtrace.eval.pytest_plugin import cases

llmtrace.init(service_name="eval-plugin", console=False, metrics=False, prices={prices!r})
client = openai.OpenAI(base_url=os.environ["EVAL_SERVER"], api_key="sk-test", max_retries=0)


def answer(input, variant):
    messages = PROMPT_TERSE.format(question=input)
    reply = client.chat.completions.create(model=variant, messages=messages)
    return reply.choices[0].message.content


def exact(output, expected):
    return output == expected


@pytest.mark.parametrize("case", cases(CASES[:8]))
@pytest.mark.parametrize("model", ["large-model", "small-model"])
def test_qa(case, model, llmtrace_eval):
    result = llmtrace_eval(case, answer, [exact], variant=model, thresholds={{"exact": 1.0}})
    assert result.cost_usd > 0


def test_cost_cap(llmtrace_eval):
    llmtrace_eval(CASES[1], answer, [exact], name="capped", variant="large-model",
                  max_cost_usd=1e-9)
"""


def test_cases_become_tests_and_the_summary_has_the_report(
    server: EvalServer, tmp_path: Path
) -> None:
    (tmp_path / "test_generated.py").write_text(TEST_FILE.format(prices={"models": PRICES}))
    saved = tmp_path / "eval.json"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OTEL_", "LLMTRACE_", "PYTEST_"))
    }
    env["EVAL_SERVER"] = server.base_url
    env["PYTHONPATH"] = str(REPO)
    run = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-p", "llmtrace.eval.pytest_plugin", "-p",
            "no:cacheprovider", "-q", "-rf", f"--llmtrace-eval-json={saved}", str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )  # fmt: skip
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    # small-model misses every fourth question: q00 and q04 of the first eight.
    assert "3 failed, 14 passed" in out, out
    assert "FAILED test_generated.py::test_qa[small-model-q00] - Failed: case q00" in out
    assert "exact = 0 < 1" in out
    assert "cost $0.0000" in out and "> $0.000000" in out  # the cost cap
    assert "llmtrace evaluation" in out and "eval test_qa" in out and "eval capped" in out
    table = out[out.index("eval test_qa") :]
    assert "large-model" in table and "small-model" in table and "cost / case" in table
    first = EvalResult.load(tmp_path / "eval-test_qa.json")
    assert len(first.cases) == 16 and first.run["cases"] == 8
    assert first.summary()["small-model"].scores["exact"].mean == 0.75
    data = json.loads((tmp_path / "eval-capped.json").read_text())
    assert data["cases"][0]["cost_usd"] > 0
