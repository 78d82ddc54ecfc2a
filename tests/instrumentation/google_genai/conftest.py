"""Fixtures for the google-genai instrumentation tests: llmtrace's patch around each test,
and a local server speaking the Gemini API's wire format (helpers in
``tests.support.gemini_server``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmtrace.instrumentation.google_genai import (
    instrument_google_genai,
    uninstrument_google_genai,
)
from tests.support.gemini_server import GeminiServer


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    instrument_google_genai()
    try:
        yield
    finally:
        uninstrument_google_genai()


@pytest.fixture
def server() -> Iterator[GeminiServer]:
    local = GeminiServer()
    try:
        yield local
    finally:
        local.close()
