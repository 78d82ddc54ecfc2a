"""The evaluation example runs offline and shows what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from llmtrace.eval import EvalResult

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "evaluation" / "compare_prompts.py"


def test_the_example_compares_two_prompt_versions(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMTRACE_"))}
    run = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "short -> friendly  judge" in run.stdout and "3 regression(s)" in run.stdout
    saved = EvalResult.load(tmp_path / "support-answer.json")
    summary = saved.summary()
    assert summary["short"].scores["judge"].mean == 1.0
    assert summary["friendly"].scores["judge"].mean == 0.5
    assert (tmp_path / "support-answer.md").read_text().startswith("## Evaluation")
