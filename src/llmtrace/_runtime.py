"""What the hot paths read: the active tracer and the few settings they need.

``init()`` (and ``llmtrace.testing``) write here once; decorators and
instrumentations only read attributes, so no call ever parses configuration or
the environment. Before ``init()``, tracing follows whatever global
TracerProvider the application set (or stays off, at near-zero cost).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, Tracer, TracerProvider

from ._otel_env import check_import_time_variables

INSTRUMENTATION_NAME = "llmtrace"
VERSION = "0.1.0"


def _global_provider_reader() -> Callable[[], TracerProvider | None]:
    """How to read the global TracerProvider; None means none was set (tracing off).

    ``trace.get_tracer_provider()`` looks up OTEL_PYTHON_TRACER_PROVIDER in the
    environment on every call until a provider is set, which would make the
    tracing-off path of every decorated call read the environment. Reading the
    API's module global gives the same answer, so that is used unless that
    variable asks the API to load a provider itself.
    """

    def read() -> TracerProvider | None:
        return trace._TRACER_PROVIDER

    if not hasattr(trace, "_TRACER_PROVIDER"):
        return trace.get_tracer_provider
    if "OTEL_PYTHON_TRACER_PROVIDER" not in os.environ:
        return read

    def load() -> TracerProvider | None:
        from ._otel_env import global_provider

        provider, loaded = global_provider(trace.get_tracer_provider)
        if not loaded:  # warned once; from now on, as if the variable were not set
            runtime._global_provider = read
        return provider  # type: ignore[no-any-return]

    return load


def _env_flag(*names: str) -> bool:
    for name in names:
        raw = os.environ.get(name)
        if raw is not None:
            return raw.strip().lower() in _ON
    return False


_ON = frozenset({"1", "true", "yes", "on", "span_only", "span_and_event"})


class Runtime:
    """Process-wide state. One instance, ``runtime``; assign fields, never rebind it."""

    def __init__(self) -> None:
        # Content capture is read from the environment once, so that spans made before
        # (or without) init() still respect OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT.
        self.capture_content: bool = _env_flag(
            "LLMTRACE_CAPTURE_CONTENT", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
        )
        self.max_attribute_bytes: int = 2048
        self.redact: Callable[[Any], Any] | None = None
        self.model_version: str | None = None
        self.prompt_interop: bool = False
        self.disabled: bool = _env_flag("OTEL_SDK_DISABLED")
        # An explicit provider (from init() or llmtrace.testing) wins over the global one.
        self.tracer_provider: TracerProvider | None = None
        self._tracer_source: object = None
        self._tracer: Tracer | None = None
        self._global_provider = _global_provider_reader()

    def tracer(self) -> Tracer | None:
        """The tracer to use now, or None when tracing is off. Cheap: cached per provider."""
        provider = self.tracer_provider
        if provider is None:
            provider = self._global_provider()
            if provider is None:
                return None
        if provider is self._tracer_source:
            return self._tracer
        return self._resolve(provider)

    def _resolve(self, provider: TracerProvider) -> Tracer | None:
        tracer: Tracer | None
        if self.disabled or isinstance(provider, (ProxyTracerProvider, NoOpTracerProvider)):
            tracer = None
        else:
            tracer = provider.get_tracer(INSTRUMENTATION_NAME, VERSION)
            if isinstance(tracer, trace.NoOpTracer):
                tracer = None
        self._tracer = tracer
        self._tracer_source = provider
        return tracer

    def reset_tracer_cache(self) -> None:
        self._tracer_source = None
        self._tracer = None


runtime = Runtime()
check_import_time_variables()
