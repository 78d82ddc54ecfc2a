"""Fixtures for the LiteLLM tests: the real ``litellm`` against local servers, offline.

LiteLLM's remote model-cost map and its callbacks are turned off before it is
imported; the servers are the scripted local HTTP server of the OpenAI tests,
answering OpenAI's chat/embeddings format or Anthropic's Messages format.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no download of the model-cost map
os.environ.setdefault("LITELLM_TELEMETRY", "False")
litellm = pytest.importorskip("litellm")

from llmtrace.instrumentation.litellm import instrument_litellm, uninstrument_litellm  # noqa: E402
from llmtrace.instrumentation.openai import instrument_openai, uninstrument_openai  # noqa: E402
from llmtrace.instrumentation.openai._providers import reset_usage_hosts  # noqa: E402
from tests.support.openai_server import LocalServer  # noqa: E402


@pytest.fixture(autouse=True)
def offline_litellm() -> Iterator[None]:
    """No telemetry, no logging callbacks (they would run in LiteLLM's background threads)."""
    saved = (litellm.callbacks, litellm.success_callback, litellm.failure_callback)
    litellm.telemetry = False
    litellm.callbacks, litellm.success_callback, litellm.failure_callback = [], [], []
    try:
        yield
    finally:
        litellm.callbacks, litellm.success_callback, litellm.failure_callback = saved


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    """Both LiteLLM and the openai SDK it calls are instrumented, as ``init()`` does."""
    instrument_openai()
    instrument_litellm()
    try:
        yield
    finally:
        uninstrument_litellm()
        uninstrument_openai()
        reset_usage_hosts()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    try:
        yield local
    finally:
        local.close()
