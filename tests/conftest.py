"""Shared fixtures: spans captured in memory, strict internal-error mode, clean global state."""

from __future__ import annotations

import os

os.environ.setdefault("LLMTRACE_RAISE_INTERNAL_ERRORS", "1")

from collections.abc import Iterator

import pytest

from llmtrace import _errors, _setup
from llmtrace._runtime import runtime
from llmtrace.testing import SpanCapture, capture_spans

_errors.set_strict(True)


@pytest.fixture
def captured() -> Iterator[SpanCapture]:
    """Spans finished during the test, in memory; content capture off (the default)."""
    with capture_spans(capture_content=False) as capture:
        yield capture


@pytest.fixture
def captured_content() -> Iterator[SpanCapture]:
    """Like ``captured`` but with content capture on."""
    with capture_spans(capture_content=True) as capture:
        yield capture


@pytest.fixture
def lenient() -> Iterator[None]:
    """Run llmtrace's never-raise guard as in production: log internal errors, don't raise."""
    _errors.set_strict(False)
    try:
        yield
    finally:
        _errors.set_strict(True)


def reset_otel_globals() -> None:
    """Forget the global Tracer/MeterProvider, as OpenTelemetry's own test utilities do."""
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import trace as otel_trace
    from opentelemetry.util._once import Once

    otel_trace._TRACER_PROVIDER = None
    otel_trace._TRACER_PROVIDER_SET_ONCE = Once()
    otel_metrics._internal._METER_PROVIDER = None
    otel_metrics._internal._METER_PROVIDER_SET_ONCE = Once()


@pytest.fixture(autouse=True)
def _reset_llmtrace() -> Iterator[None]:
    yield
    handle = _setup.active()
    if handle is not None:
        handle.shutdown(timeout=2)
    reset_otel_globals()
    runtime.tracer_provider = None
    runtime.redact = None
    runtime.max_attribute_bytes = 2048
    runtime.model_version = None
    runtime.prompt_interop = False
    runtime.disabled = False
    runtime.capture_content = False
    runtime.reset_tracer_cache()
