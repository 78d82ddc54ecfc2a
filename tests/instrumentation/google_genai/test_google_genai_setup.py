"""Budgets and prompts apply, and the terminal tree shows the calls; the instrumentor
contract shared by every integration is in ``../test_instrumentor_contract.py``."""

from __future__ import annotations

import pytest

import llmtrace
from llmtrace import semconv
from llmtrace._console import render_tree
from llmtrace.testing import SpanCapture
from tests.support.gemini_server import MODEL, GeminiServer, make_client, response, usage


def test_spent_budget_raises_before_the_call(server: GeminiServer, captured: SpanCapture) -> None:
    server.add(response(usage_metadata=usage(100_000, 100_000)))
    client = make_client(server)
    with llmtrace.budget(max_usd=0.000001, on_exceed="raise"):
        client.models.generate_content(model=MODEL, contents="Hi")
        with pytest.raises(llmtrace.BudgetExceeded):
            client.models.generate_content(model=MODEL, contents="Hi")
    assert len(server.requests) == 1


def test_prompt_linkage(server: GeminiServer, captured: SpanCapture) -> None:
    server.add(response(usage_metadata=usage()))
    prompt = llmtrace.Prompt("greet", "Say hi to {name}", version="3")
    with llmtrace.use_prompt(prompt):
        make_client(server).models.generate_content(model=MODEL, contents=prompt.format(name="A"))
    attrs = captured.find(f"generate_content {MODEL}").attributes
    assert attrs[semconv.GEN_AI_PROMPT_NAME] == "greet"
    assert attrs[semconv.GEN_AI_PROMPT_VERSION] == "3"


def test_terminal_tree_shows_the_call(server: GeminiServer, captured: SpanCapture) -> None:
    server.add(response(usage_metadata=usage(812, 95), model_version=MODEL))
    with llmtrace.span("answer"):
        make_client(server).models.generate_content(model="gemini-flash-latest", contents="Hi")
    tree = render_tree(captured.spans)
    line = tree.splitlines()[1]
    assert "generate_content gemini-flash-latest" in line
    assert MODEL in line  # the model that answered, and was priced
    assert "in 812" in line and "out 95" in line
    assert "$" in line
