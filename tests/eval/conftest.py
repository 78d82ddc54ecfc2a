"""Fixtures for evaluation tests: the deterministic local server, real OpenAI clients
(sync and async) through llmtrace's instrumentation, and the test models' prices."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from llmtrace._genai.pricing import clear_price_overrides, load_price_overrides
from llmtrace._prompts import state as _prompt_state
from llmtrace.instrumentation.openai import instrument_openai, uninstrument_openai
from tests.support.eval_server import PRICES, EvalServer


@pytest.fixture(scope="module")
def server() -> Iterator[EvalServer]:
    running = EvalServer()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(autouse=True)
def _prices_and_clean_prompt_state() -> Iterator[None]:
    load_price_overrides({"models": PRICES})
    token = _prompt_state._STATE.set(None)
    try:
        yield
    finally:
        _prompt_state._STATE.reset(token)
        clear_price_overrides()


@pytest.fixture
def instrumented() -> Iterator[None]:
    instrument_openai()
    try:
        yield
    finally:
        uninstrument_openai()


@pytest.fixture
def client(server: EvalServer, instrumented: None) -> Iterator[Any]:
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as real:
        yield real


@pytest.fixture
def async_client(server: EvalServer, instrumented: None) -> Any:
    return openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
