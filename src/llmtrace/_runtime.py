"""What the hot paths read: the active tracer and the few settings they need.

``init()`` (and ``llmtrace.testing``) write here once; decorators and
instrumentations only read attributes, so no call parses configuration. Before
``init()``, tracing follows whatever global TracerProvider the application set.
Until it sets one, each check asks the API's proxy provider for a tracer: the proxy
hands out its own ``ProxyTracer`` until a real provider is set, and that costs less
than ``get_tracer_provider()``, which looks up an environment variable each time.
Once set, the provider is kept, since the API allows setting it only once. (A
provider named by the API's tracer-provider environment variable is loaded by the
first check.)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import (
    NoOpTracerProvider,
    ProxyTracer,
    ProxyTracerProvider,
    Tracer,
    TracerProvider,
)

from ._errors import Failed, attempt
from ._otel_env import check_import_time_variables, warn_unloadable_tracer_provider

INSTRUMENTATION_NAME = "llmtrace"
VERSION = "0.1.0"


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
        # The global provider once the application set one (the API allows it once).
        self._global_provider: TracerProvider | None = None
        self._global_provider_unloadable = False
        # The API's proxy provider, once it answered that no provider is set yet.
        self._unset_global_provider: ProxyTracerProvider | None = None

    def tracer(self) -> Tracer | None:
        """The tracer to use now, or None when tracing is off. Cheap: cached per provider."""
        provider = self.tracer_provider or self._global_provider
        if provider is None:
            if self.disabled:  # OTEL_SDK_DISABLED: no need to ask the API
                return None
            unset = self._unset_global_provider
            if (
                unset is not None
                and type(unset.get_tracer(INSTRUMENTATION_NAME, VERSION)) is ProxyTracer
            ):
                return None  # none set yet: the API's proxy provider hands out its own tracers
            provider = self._read_global_provider()
            if provider is None:
                return None
        if provider is self._tracer_source:
            return self._tracer
        return self._resolve(provider)

    def _read_global_provider(self) -> TracerProvider | None:
        """The global provider if the application has set one, else None.

        With the API's tracer-provider variable naming a provider that does not load, the
        API would scan entry points and raise on every call: that warns once, and the
        global provider is not asked again until ``reset_tracer_cache()`` (``init()``).
        """
        if self._global_provider_unloadable:
            return None
        provider = attempt(trace.get_tracer_provider)  # may load one named by the environment
        if isinstance(provider, Failed):
            warn_unloadable_tracer_provider()
            self._global_provider_unloadable = True
            return None
        if isinstance(provider, ProxyTracerProvider):
            self._unset_global_provider = provider
            return None
        self._global_provider = provider
        return provider

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
        self._global_provider = None
        self._global_provider_unloadable = False
        self._unset_global_provider = None
        self._tracer_source = None
        self._tracer = None


runtime = Runtime()
check_import_time_variables()
