"""The terminal tree of an Anthropic call; the instrumentor contract shared by every
integration is in ``tests/instrumentation/test_instrumentor_contract.py``."""

from __future__ import annotations

from typing import Any

import llmtrace
from llmtrace._console import render_tree
from tests.support.anthropic_server import MODEL, message

HI = [{"role": "user", "content": "Hi"}]


def test_terminal_tree_shows_the_call_like_an_openai_one(server, captured):
    server.add(message())
    with llmtrace.span("answer"):
        server.client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    tree = render_tree(captured.spans)
    lines = tree.splitlines()
    assert lines[0].startswith("answer")
    llm_line: Any = lines[1]
    assert f"chat {MODEL}" in llm_line
    assert "→ claude-sonnet-4-5-20250929" in llm_line
    assert "in 12 · out 5 tok" in llm_line
    assert "$0.000111" in llm_line
