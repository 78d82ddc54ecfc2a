"""Fixtures for the OpenAI instrumentation tests: llmtrace's patch applied around each test,
and a local OpenAI-compatible HTTP server (helpers in ``tests.support.openai_server``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmtrace.instrumentation.openai import instrument_openai, uninstrument_openai
from llmtrace.instrumentation.openai._providers import reset_usage_hosts
from tests.support.openai_server import LocalServer


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
