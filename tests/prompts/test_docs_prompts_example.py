"""docs/prompts.md's worked example prints the terminal tree the page shows (#17 item 10)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "prompts.md"
_DURATION = re.compile(r"\d+(?:\.\d+)? (?:ms|µs|s)\b")


def _normalise(line: str) -> str:
    """A tree line without its timing (which varies run to run)."""
    return " ".join(_DURATION.sub("<t>", line).split())


def _blocks(text: str) -> list[tuple[str, str]]:
    """(info string, body) of every fenced block."""
    blocks, info, body = [], None, []
    for line in text.splitlines():
        if line.startswith("```"):
            if info is None:
                info, body = line[3:].strip(), []
            else:
                blocks.append((info, "\n".join(body)))
                info = None
        elif info is not None:
            body.append(line)
    return blocks


def test_the_worked_example_prints_the_tree_the_page_shows() -> None:
    blocks = _blocks(DOC.read_text(encoding="utf-8"))
    code = next(b for info, b in blocks if info == "python" and "record_score" in b)
    shown = next(b for info, b in blocks if info == "" and "evaluation " in b)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMTRACE_"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": "1"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    printed = [_normalise(line) for line in (result.stdout + result.stderr).splitlines()]
    for line in shown.strip().splitlines():
        assert _normalise(line) in printed, f"{line!r} not printed:\n{result.stderr}"
