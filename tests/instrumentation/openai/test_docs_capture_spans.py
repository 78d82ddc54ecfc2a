"""The ``capture_spans`` snippet of docs/tracing.md works as written, without ``init()``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# The app the snippet tests (the README's), against a local OpenAI-compatible server; then
# the snippet itself, then its test function. No llmtrace.init() anywhere.
SCRIPT = """
import sys

sys.path.insert(0, {support!r})
from openai import OpenAI
from tests.support.openai_bodies import chat
from tests.support.openai_server import LocalServer

import llmtrace

server = LocalServer()
server.add(chat())
client = OpenAI(api_key="sk-test", base_url=server.base_url, max_retries=0)


@llmtrace.trace(kind="workflow")
def answer(question):
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{{"role": "user", "content": question}}]
    )
    return reply.choices[0].message.content


{snippet}

test_answer_is_traced()
server.close()
print("snippet ok")
"""


def _snippet() -> str:
    text = (ROOT / "docs" / "tracing.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    found = [b for b in blocks if "capture_spans" in b and "def test_" in b]
    assert len(found) == 1, "docs/tracing.md has no (or several) capture_spans snippets"
    return found[0]


def test_the_capture_spans_snippet_works_without_init() -> None:
    script = SCRIPT.format(support=str(ROOT), snippet=_snippet())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMTRACE_"))}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "snippet ok" in result.stdout
