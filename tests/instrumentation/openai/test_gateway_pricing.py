"""Calls behind a gateway, a proxy or an unknown host: which provider, and is it priced."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import llmtrace
from llmtrace._genai import providers
from tests.support import openai_bodies as bodies
from tests.support.openai_server import json_response, make_client

MESSAGES = [{"role": "user", "content": "Hi"}]


@pytest.fixture(autouse=True)
def _no_user_hosts() -> Iterator[None]:
    yield
    providers.configure_hosts({})


def chat(base_url: str, model: str = "gpt-4o-mini") -> None:
    client, _ = make_client(json_response(bodies.chat(model=model)), base_url=base_url)
    client.chat.completions.create(model=model, messages=MESSAGES)


def test_together_through_the_openai_client_is_priced(captured):
    model = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    chat("https://api.together.xyz/v1", model)
    span = captured.find(f"chat {model}")
    assert span.attributes["gen_ai.provider.name"] == "together_ai"
    assert span.attributes["gen_ai.usage.cost.amount"] > 0
    assert "llmtrace.cost.inferred" not in span.attributes


def test_closed_weight_model_on_an_unknown_host_is_priced_and_marked_inferred(captured):
    chat("https://llm-gateway.corp.example/v1")
    span = captured.find("chat gpt-4o-mini")
    assert span.attributes["gen_ai.provider.name"] == "openai_compatible"
    assert span.attributes["gen_ai.usage.cost.amount"] > 0
    assert span.attributes["llmtrace.cost.inferred"] is True


def test_open_weight_model_on_an_unknown_host_stays_unpriced(captured):
    chat("http://127.0.0.1:8000/v1", "llama-3.1-8b-instruct")
    span = captured.find("chat llama-3.1-8b-instruct")
    assert span.attributes["gen_ai.provider.name"] == "vllm"
    assert "gen_ai.usage.cost.amount" not in span.attributes
    assert span.attributes["llmtrace.cost.unknown_model"] is True


def test_a_host_mapped_by_the_user_is_that_provider(captured):
    providers.configure_hosts({"gateway.internal": "openai"})
    chat("https://gateway.internal/v1")
    span = captured.find("chat gpt-4o-mini")
    assert span.attributes["gen_ai.provider.name"] == "openai"
    assert span.attributes["gen_ai.usage.cost.amount"] > 0
    assert "llmtrace.cost.inferred" not in span.attributes


def test_budget_counts_gateway_calls(captured):
    with llmtrace.budget(max_usd=1.0) as spent:
        chat("https://llm-gateway.corp.example/v1")
    assert spent.spent_usd > 0


def test_unpriced_call_under_a_budget_warns_once_per_model(captured, caplog):
    with caplog.at_level(logging.WARNING, logger="llmtrace"), llmtrace.budget(max_usd=1.0):
        for _ in range(3):
            chat("http://127.0.0.1:8000/v1", "my-finetune-7b")
    warnings = [r for r in caplog.records if "no price for model 'my-finetune-7b'" in r.message]
    assert len(warnings) == 1
    assert "init(providers=" in warnings[0].getMessage()
