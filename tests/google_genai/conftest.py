"""Fixtures for the google-genai instrumentation tests: llmtrace's patch around each test,
and a local server speaking the Gemini API's wire format (helpers in ``gemini_support``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("google.genai", reason="google-genai is not installed (extra 'google')")

from gemini_support import GeminiServer  # noqa: E402

from llmtrace.instrumentation.google_genai import (  # noqa: E402
    instrument_google_genai,
    uninstrument_google_genai,
)


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
