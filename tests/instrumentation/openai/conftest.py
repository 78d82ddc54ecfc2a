"""Fixtures for the OpenAI instrumentation tests: llmtrace's patch applied around each test,
and a local OpenAI-compatible HTTP server (helpers in ``openai_support``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai_support import LocalServer

from llmtrace.instrumentation.openai import instrument_openai, uninstrument_openai
from llmtrace.instrumentation.openai._providers import reset_usage_hosts


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    instrument_openai()
    try:
        yield
    finally:
        uninstrument_openai()
        reset_usage_hosts()


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    try:
        yield server
    finally:
        server.close()
