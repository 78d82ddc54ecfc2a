"""LiteLLM's Router: a ``litellm.router`` span per call, one LLM span per attempt that
reached a provider beneath it (fallbacks included), one cost per answered attempt."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import litellm
import pytest

from llmtrace import semconv as A
from llmtrace.testing import SpanCapture
from tests.support.litellm_bodies import USER, chat_body
from tests.support.openai_server import LocalServer


@pytest.fixture
def broken() -> Iterator[LocalServer]:
    local = LocalServer()
    local.add({"error": {"message": "overloaded", "type": "server_error"}}, status=500)
    try:
        yield local
    finally:
        local.close()


def _deployment(name: str, server: LocalServer) -> dict[str, Any]:
    return {
        "model_name": name,
        "litellm_params": {
            "model": "openai/gpt-4o-mini",
            "api_base": server.base_url,
            "api_key": "sk-test",
            "max_retries": 0,
        },
    }


def _llm_spans(captured: SpanCapture) -> list[Any]:
    return [s for s in captured.spans if s.attributes.get(A.GEN_AI_OPERATION_NAME)]


def test_router_call_wraps_its_attempt(server: LocalServer, captured: SpanCapture) -> None:
    server.add(chat_body())
    router = litellm.Router(model_list=[_deployment("fast", server)])
    response = router.completion(model="fast", messages=USER)
    assert response.choices[0].message.content == "Hello!"
    route = captured.find("litellm.router completion")
    assert route.attributes[A.LLMTRACE_LITELLM_MODEL_GROUP] == "fast"
    (llm,) = _llm_spans(captured)
    assert captured.parent_of(llm) is route
    assert route.attributes[A.LLMTRACE_COST_TOTAL] == pytest.approx(
        llm.attributes[A.GEN_AI_USAGE_COST_AMOUNT]
    )


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_fallback_is_one_span_per_attempt(
    server: LocalServer, broken: LocalServer, captured: SpanCapture, asynchronous: bool
) -> None:
    server.add(chat_body())
    router = litellm.Router(
        model_list=[_deployment("primary", broken), _deployment("backup", server)],
        fallbacks=[{"primary": ["backup"]}],
        num_retries=0,
    )
    if asynchronous:
        response = await router.acompletion(model="primary", messages=USER)
        route = captured.find("litellm.router acompletion")
    else:
        response = router.completion(model="primary", messages=USER)
        route = captured.find("litellm.router completion")
    assert response.choices[0].message.content == "Hello!"
    attempts = _llm_spans(captured)
    assert len(attempts) == 2, captured.tree()
    assert all(captured.parent_of(s) is not None for s in attempts)
    failed = [s for s in attempts if s.status.status_code.name == "ERROR"]
    answered = [s for s in attempts if s.status.status_code.name != "ERROR"]
    assert len(failed) == 1 and len(answered) == 1
    assert failed[0].attributes[A.HTTP_RESPONSE_STATUS_CODE] == 500
    assert failed[0].attributes[A.SERVER_PORT] == broken.port
    assert answered[0].attributes[A.SERVER_PORT] == server.port
    # every attempt sits under the router's span; only the answer is priced
    for span in attempts:
        parent = captured.parent_of(span)
        while parent is not None and parent is not route:
            parent = captured.parent_of(parent)
        assert parent is route
    assert A.GEN_AI_USAGE_COST_AMOUNT not in failed[0].attributes
    assert route.attributes[A.LLMTRACE_COST_TOTAL] == pytest.approx(
        answered[0].attributes[A.GEN_AI_USAGE_COST_AMOUNT]
    )


def test_router_error_passes_through(broken: LocalServer, captured: SpanCapture) -> None:
    router = litellm.Router(model_list=[_deployment("primary", broken)], num_retries=0)
    with pytest.raises(litellm.InternalServerError):
        router.completion(model="primary", messages=USER)
    route = captured.find("litellm.router completion")
    assert route.status.status_code.name == "ERROR"
    assert len(_llm_spans(captured)) == 1


async def test_router_embedding(server: LocalServer, captured: SpanCapture) -> None:
    from tests.support.litellm_bodies import embedding_body

    server.add(embedding_body())
    deployment = _deployment("embed", server)
    deployment["litellm_params"]["model"] = "openai/text-embedding-3-small"
    router = litellm.Router(model_list=[deployment])
    await router.aembedding(model="embed", input=["hello"])
    route = captured.find("litellm.router aembedding")
    (llm,) = _llm_spans(captured)
    assert captured.parent_of(llm) is route
    assert llm.attributes[A.GEN_AI_OPERATION_NAME] == "embeddings"
