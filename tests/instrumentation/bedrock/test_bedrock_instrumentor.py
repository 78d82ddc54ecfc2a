"""The patch's life: which clients are traced, uninstrumenting every client, nesting,
threads, budgets, prompts (the shared OTel contract: ``../test_instrumentor_contract.py``)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import llmtrace
from llmtrace import semconv
from llmtrace.instrumentation.bedrock import (
    instrument_bedrock,
    is_instrumented,
    uninstrument_bedrock,
)
from tests.support.bedrock_server import BedrockServer

MODEL = "meta.llama3-1-8b-instruct-v1:0"
ANSWER = {"generation": "Hi", "prompt_token_count": 3, "generation_token_count": 1}
MESSAGES = [{"role": "user", "content": [{"text": "Hi"}]}]
CONVERSE = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hi"}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4},
}


def call(client: Any) -> None:
    client.invoke_model(modelId=MODEL, body=b'{"prompt": "Hi"}')["body"].read()


def test_clients_created_before_instrumenting_are_left_alone(captured, server: BedrockServer):
    server.json(ANSWER)
    uninstrument_bedrock()
    before = server.client()
    instrument_bedrock()
    after = server.client()
    call(before)
    assert captured.spans == []
    call(after)
    assert captured.names() == [f"text_completion {MODEL}"]


def test_other_services_are_not_wrapped(server: BedrockServer):
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=server.url)
    assert "get_object" not in vars(s3)
    runtime = server.client()
    assert {"converse", "invoke_model"} <= set(vars(runtime))


def test_uninstrument_restores_every_client(captured, server: BedrockServer):
    server.json(ANSWER)
    client = server.client()
    assert is_instrumented()
    uninstrument_bedrock()
    assert not is_instrumented()
    assert "invoke_model" not in vars(client)
    call(client)
    call(server.client())
    assert captured.spans == []
    uninstrument_bedrock()  # safe twice


def test_nests_under_the_current_span_and_rolls_up(captured, server: BedrockServer):
    server.json(CONVERSE)
    client = server.client()
    with llmtrace.span("workflow") as parent:
        client.converse(modelId="us.amazon.nova-lite-v1:0", messages=MESSAGES)
        del parent
    workflow = captured.find("workflow")
    llm = captured.find("chat us.amazon.nova-lite-v1:0")
    assert llm.parent is not None and llm.parent.span_id == workflow.context.span_id
    assert workflow.attributes[semconv.LLMTRACE_USAGE_TOTAL_INPUT_TOKENS] == 3


def test_threads_each_get_their_span(captured, server: BedrockServer):
    server.json(ANSWER)
    client = server.client()
    threads = [threading.Thread(target=call, args=(client,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(captured.spans) == 4


def test_budget_blocks_before_the_call(captured, server: BedrockServer):
    server.json(CONVERSE)
    client = server.client()
    with pytest.raises(llmtrace.BudgetExceeded), llmtrace.budget(0.0, on_exceed="raise"):
        client.converse(modelId="us.amazon.nova-lite-v1:0", messages=MESSAGES)
        client.converse(modelId="us.amazon.nova-lite-v1:0", messages=MESSAGES)
    assert len(server.requests) == 1


def test_prompt_linkage(captured, server: BedrockServer):
    server.json(CONVERSE)
    client = server.client()
    prompt = llmtrace.Prompt("greet", "Say hi to {name}", version="3")
    with llmtrace.use_prompt(prompt, name="Ada"):
        client.converse(modelId="us.amazon.nova-lite-v1:0", messages=MESSAGES)
    attrs = captured.find("chat us.amazon.nova-lite-v1:0").attributes
    assert attrs[semconv.GEN_AI_PROMPT_NAME] == "greet"
    assert attrs[semconv.GEN_AI_PROMPT_VERSION] == "3"
