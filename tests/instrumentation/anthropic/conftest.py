"""Fixtures for the Anthropic instrumentation tests: llmtrace's patch applied around each
test, and a local Messages API server (helpers in ``tests.support.anthropic_server``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("anthropic", reason="the anthropic SDK is not installed")

from llmtrace.instrumentation.anthropic import (
    instrument_anthropic,
    uninstrument_anthropic,
)
from tests.support.anthropic_server import LocalServer


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    instrument_anthropic()
    try:
        yield
    finally:
        uninstrument_anthropic()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    try:
        yield local
    finally:
        local.close()
