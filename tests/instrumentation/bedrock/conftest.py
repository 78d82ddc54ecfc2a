"""Fixtures for the Bedrock tests: llmtrace's patch around each test and a local server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("boto3", reason="boto3 is not installed (pip install 'llmtrace[bedrock]')")

from llmtrace.instrumentation.bedrock import instrument_bedrock, uninstrument_bedrock
from tests.support.bedrock_server import BedrockServer


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    instrument_bedrock()
    try:
        yield
    finally:
        uninstrument_bedrock()


@pytest.fixture
def server() -> Iterator[BedrockServer]:
    local = BedrockServer()
    try:
        yield local
    finally:
        local.close()
