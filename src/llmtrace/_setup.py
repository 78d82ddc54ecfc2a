"""``init()``, ``shutdown()`` and ``force_flush()``: the only code that installs anything.

``init()`` resolves settings once, then either reuses the application's SDK
TracerProvider (adding llmtrace's processors to it) or builds one with a
sampler, a bounded batch exporter and, with no collector configured, the
terminal trace tree. It turns on the requested auto-instrumentations.
Exit-time flushing runs with a timeout so a dead collector cannot hang the
process on exit.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from . import _otel_env
from ._errors import ConfigurationError, logger
from ._processors import ContextAttributesProcessor, ExportProcessor
from ._runtime import VERSION, runtime
from ._spool import open_spool
from .config import KNOWN_INSTRUMENTATIONS, Settings, resolve_settings
from .console import ConsoleTreeProcessor

_lock = threading.RLock()
_active: Tracing | None = None
# Providers init() built; weak, so a shut-down provider is not kept alive by this set.
_built_providers: weakref.WeakSet[TracerProvider] = weakref.WeakSet()


class Tracing:
    """The handle ``init()`` returns: what was set up, and how to flush or stop it."""

    def __init__(
        self,
        settings: Settings,
        tracer_provider: TracerProvider | None,
        owns_provider: bool,
        processors: Sequence[SpanProcessor],
        meter_provider: Any = None,
        owns_meter_provider: bool = False,
    ) -> None:
        self.settings = settings
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.instrumented: list[str] = []
        self._owns_provider = owns_provider
        self._owns_meter_provider = owns_meter_provider
        self._processors = list(processors)
        self._shut_down = False

    @property
    def enabled(self) -> bool:
        return self.tracer_provider is not None and not self._shut_down

    @property
    def dropped_spans(self) -> int:
        """Spans never handed to the exporter: the queue was full (collector down or too
        slow), or they were still queued when shutdown timed out."""
        return sum(getattr(p, "dropped", 0) for p in self._processors)

    @property
    def failed_spans(self) -> int:
        """Spans in export batches the collector rejected or never answered (after retries)."""
        return sum(getattr(p, "failed", 0) for p in self._processors)

    @property
    def spooled_spans(self) -> int:
        """Spans written to the on-disk spool (``spool_dir``) because the collector was down."""
        return sum(getattr(p, "spooled", 0) for p in self._processors)

    @property
    def exported_spans(self) -> int:
        """Spans the collector accepted."""
        return sum(getattr(p, "exported", 0) for p in self._processors)

    def force_flush(self, timeout: float | None = None) -> bool:
        """Export queued spans now; False if that did not finish within ``timeout`` seconds."""
        if not self.enabled:
            return True
        limit = self.settings.shutdown_timeout if timeout is None else timeout
        return _run_with_timeout(lambda: self._flush(limit), limit, "force_flush")

    def shutdown(self, timeout: float | None = None) -> bool:
        """Flush and stop exporting, within ``timeout`` seconds (default: shutdown_timeout)."""
        global _active
        with _lock:
            if self._shut_down:
                return True
            self._shut_down = True
            if _active is self:
                _active = None
            _uninstrument(self.instrumented)
            if runtime.tracer_provider is self.tracer_provider:
                runtime.tracer_provider = None
            runtime.reset_tracer_cache()
            if self.meter_provider is not None:
                from . import metrics

                metrics.reset()
        if self.tracer_provider is None:
            return True
        limit = self.settings.shutdown_timeout if timeout is None else timeout
        return _run_with_timeout(lambda: self._stop(limit), limit, "shutdown")

    def _flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        ok = True
        for processor in self._processors:
            ok = processor.force_flush(_millis_left(deadline)) and ok
        if self._owns_meter_provider and self.meter_provider is not None:
            self.meter_provider.force_flush(timeout_millis=_millis_left(deadline))
        return ok

    def _stop(self, timeout: float) -> bool:
        # Our export processors stop within 90% of the timeout, leaving the rest for
        # closing exporters, so the caller hears their precise account, not a bare timeout.
        deadline = time.monotonic() + timeout
        ok = True
        for processor in self._processors:
            if isinstance(processor, ExportProcessor):
                ok = processor.stop(0.9 * _millis_left(deadline) / 1000) and ok
        if self._owns_provider and self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        else:
            for processor in self._processors:
                processor.shutdown()
        if self._owns_meter_provider and self.meter_provider is not None:
            self.meter_provider.shutdown(timeout_millis=_millis_left(deadline))
        return ok


def _millis_left(deadline: float) -> int:
    return max(0, int((deadline - time.monotonic()) * 1000))


def _run_with_timeout(func: Callable[[], bool], timeout: float, what: str) -> bool:
    """Run ``func`` in a daemon thread and give up waiting after ``timeout`` seconds."""
    result: list[bool] = []

    def target() -> None:
        try:
            result.append(func())
        except Exception:  # noqa: BLE001 - an exporter failure must not reach the app
            logger.warning("llmtrace: %s failed", what, exc_info=True)
            result.append(False)

    worker = threading.Thread(target=target, name=f"llmtrace-{what}", daemon=True)
    try:
        worker.start()
    except RuntimeError:
        # No new threads at interpreter shutdown (Python 3.12+): run inline; our export
        # processors bound their own waiting, so this still ends near the timeout.
        target()
        return bool(result and result[0])
    worker.join(timeout)
    if worker.is_alive():
        logger.warning(
            "llmtrace: %s did not finish within %.1f s (collector unreachable?); "
            "unexported spans are dropped",
            what,
            timeout,
        )
        return False
    return bool(result and result[0])


def init(
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    exporter: str | SpanExporter | None = None,
    console: bool | None = None,
    capture_content: bool | None = None,
    sample_rate: float | None = None,
    instrument: bool | Sequence[str] | None = None,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    metrics: bool | None = None,
    redact: Callable[[Any], Any] | None = None,
    max_attribute_bytes: int | None = None,
    export_timeout: float | None = None,
    max_queue_size: int | None = None,
    shutdown_timeout: float | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
    spool_max_bytes: int | None = None,
    model_version: str | None = None,
    prices: Any = None,
    prompt_interop: bool | None = None,
    openai_usage_hosts: Sequence[str] | None = None,
    resource_attributes: Mapping[str, str] | None = None,
) -> Tracing:
    """Set up tracing and return its handle. Safe to call twice (the first setup stays).

    Every argument can also come from the environment (``docs/configuration.md``);
    arguments win. A bad argument raises ``ConfigurationError`` naming it.
    """
    global _active
    arguments = dict(locals())
    settings = resolve_settings(arguments)
    with _lock:
        if _active is not None:
            logger.warning(
                "llmtrace.init() called again; keeping the first setup "
                "(call llmtrace.shutdown() first to change settings)"
            )
            return _active
        handle = _build(settings)
        _active = handle
    _instrument(handle)
    return handle


def _build(settings: Settings) -> Tracing:
    runtime.disabled = settings.disabled
    runtime.reset_tracer_cache()
    if settings.disabled:
        logger.debug("llmtrace: OTEL_SDK_DISABLED is set; tracing is off")
        return Tracing(settings, None, False, [])
    runtime.capture_content = settings.capture_content
    runtime.max_attribute_bytes = settings.max_attribute_bytes
    runtime.redact = settings.redact
    runtime.model_version = settings.model_version
    runtime.prompt_interop = settings.prompt_interop
    _configure_extensions(settings)

    provider, owns = _choose_provider(settings)
    processors: list[SpanProcessor] = [ContextAttributesProcessor()]
    explicit_export = owns or settings.endpoint is not None or settings.exporter is not None
    if explicit_export:
        processors.extend(_export_processors(settings))
    for processor in processors:
        provider.add_span_processor(processor)
    runtime.tracer_provider = provider
    runtime.reset_tracer_cache()
    meter_provider, owns_meter = _choose_meter_provider(settings)
    handle = Tracing(settings, provider, owns, processors, meter_provider, owns_meter)
    if owns:
        atexit.register(_exit_flush, handle)
    return handle


def _configure_extensions(settings: Settings) -> None:
    """Hand settings to the optional modules that need them (pricing, OpenAI hosts)."""
    if settings.prices is not None:
        from .pricing import load_price_overrides

        try:
            load_price_overrides(settings.prices)
        except ConfigurationError as exc:
            if settings.prices != os.environ.get("LLMTRACE_PRICES_FILE"):
                raise
            # From the environment: a deployment typo warns, as for every other variable.
            logger.warning("llmtrace: ignoring LLMTRACE_PRICES_FILE (%s); using the defaults", exc)
    if settings.openai_usage_hosts:
        from .instrumentation.openai import allow_usage_hosts

        allow_usage_hosts(settings.openai_usage_hosts)


def _choose_provider(settings: Settings) -> tuple[TracerProvider, bool]:
    if settings.tracer_provider is not None:
        logger.debug("llmtrace: using the tracer_provider passed to init()")
        return settings.tracer_provider, False
    current, loaded = _otel_env.global_provider(trace.get_tracer_provider)
    if isinstance(current, TracerProvider) and current not in _built_providers:
        logger.debug(
            "llmtrace: an SDK TracerProvider is already set; adding llmtrace's processors to it"
        )
        return current, False
    resource_attributes: dict[str, Any] = dict(settings.resource_attributes)
    if settings.service_name:
        resource_attributes["service.name"] = settings.service_name
    resource_attributes.setdefault("telemetry.distro.name", "llmtrace")
    resource_attributes.setdefault("telemetry.distro.version", VERSION)
    sampler = None
    if settings.sample_rate is not None:
        sampler = ParentBased(TraceIdRatioBased(settings.sample_rate))
    provider = TracerProvider(
        resource=Resource.create(resource_attributes),
        sampler=sampler,
        shutdown_on_exit=False,
        span_limits=_otel_env.span_limits(),
    )
    _built_providers.add(provider)
    if isinstance(current, trace.ProxyTracerProvider) or not loaded:
        trace.set_tracer_provider(provider)
        logger.debug("llmtrace: installed a new global TracerProvider")
    elif current in _built_providers:
        # init() after shutdown(): OpenTelemetry cannot replace the global provider, so
        # llmtrace's own spans use the new one; other instrumentations keep the first.
        logger.debug("llmtrace: re-initialised; the new provider serves llmtrace's spans")
    else:
        logger.debug(
            "llmtrace: the global TracerProvider is %s; llmtrace uses its own without replacing it",
            type(current).__name__,
        )
    return provider, True


def _export_processors(settings: Settings) -> list[SpanProcessor]:
    name = settings.exporter_name
    processors: list[SpanProcessor] = []
    if name == "otlp":
        processors.append(
            ExportProcessor(
                _otlp_exporter(settings),
                settings.max_queue_size,
                shutdown_timeout_s=settings.shutdown_timeout,
                # A forked child builds its own exporter: no connection shared with the parent.
                exporter_factory=lambda: _otlp_exporter(settings),
                spool=open_spool(settings),
                quiesce_on_fork=settings.protocol == "grpc",
            )
        )
    elif name == "custom":
        processors.append(
            ExportProcessor(
                settings.exporter,
                settings.max_queue_size,
                shutdown_timeout_s=settings.shutdown_timeout,
                spool=open_spool(settings),
            )
        )
    if settings.console_enabled:
        processors.append(ConsoleTreeProcessor())
    return processors


def _traces_url(endpoint: str) -> str:
    """OTLP/HTTP: a base endpoint gets the /v1/traces path; a full one is kept."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else base + "/v1/traces"


def _otlp_exporter(settings: Settings) -> SpanExporter:
    endpoint = settings.endpoint
    headers = {k.lower(): v for k, v in settings.headers.items()} or None  # gRPC needs lowercase
    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcSpanExporter,
        )

        insecure = endpoint.startswith("http://") if endpoint else None
        return GrpcSpanExporter(
            endpoint=endpoint,
            headers=headers,
            timeout=settings.export_timeout,
            insecure=insecure,
            compression=_otel_env.otlp_compression("traces", "grpc"),
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    return HttpSpanExporter(
        endpoint=_traces_url(endpoint) if endpoint else None,
        headers=headers,
        timeout=settings.export_timeout,
        compression=_otel_env.otlp_compression("traces", "http"),
    )


def _choose_meter_provider(settings: Settings) -> tuple[Any, bool]:
    """The MeterProvider for GenAI metrics, and whether llmtrace owns it."""
    if not settings.metrics:
        return None, False
    from opentelemetry import metrics as otel_metrics

    provider: Any = settings.meter_provider
    owns = False
    if provider is None:
        current = otel_metrics.get_meter_provider()
        from opentelemetry.sdk.metrics import MeterProvider

        if isinstance(current, MeterProvider):
            provider = current
        elif settings.exporter_name == "otlp":
            provider = _otlp_meter_provider(settings)
            owns = True
    if provider is not None:
        from . import metrics

        metrics.configure(provider)
    return provider, owns


def _otlp_meter_provider(settings: Settings) -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    endpoint = settings.endpoint
    exporter: Any
    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        exporter = OTLPMetricExporter(
            endpoint=endpoint,
            headers=dict(settings.headers) or None,
            timeout=settings.export_timeout,
            insecure=endpoint.startswith("http://") if endpoint else None,
            compression=_otel_env.otlp_compression("metrics", "grpc"),
        )
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter as HttpMetricExporter,
        )

        url = endpoint.rstrip("/").removesuffix("/v1/traces") + "/v1/metrics" if endpoint else None
        exporter = HttpMetricExporter(
            endpoint=url,
            headers=dict(settings.headers) or None,
            timeout=settings.export_timeout,
            compression=_otel_env.otlp_compression("metrics", "http"),
        )
    resource_attributes = dict(settings.resource_attributes)
    if settings.service_name:
        resource_attributes["service.name"] = settings.service_name
    # The reader's own export timeout defaults to 30 s; a dead collector must cost no more
    # than export_timeout per attempt here either.
    reader = PeriodicExportingMetricReader(
        exporter, export_timeout_millis=settings.export_timeout * 1000
    )
    return MeterProvider(
        metric_readers=[reader],
        resource=Resource.create(resource_attributes),
        exemplar_filter=_otel_env.exemplar_filter(),
    )


def _instrument(handle: Tracing) -> None:
    if not handle.enabled:
        return
    wanted = handle.settings.instrument
    names = KNOWN_INSTRUMENTATIONS if wanted is None else wanted
    for name in names:
        if importlib.util.find_spec(_LIBRARIES[name]) is None:
            if wanted is not None:
                logger.warning("llmtrace: cannot instrument %s: the package is not installed", name)
            continue
        try:
            _INSTRUMENTORS[name][0]()
            handle.instrumented.append(name)
        except ConfigurationError:
            raise
        except Exception:  # noqa: BLE001 - a failed patch must not stop the app starting
            logger.warning("llmtrace: could not instrument %s", name, exc_info=True)


def _uninstrument(names: Sequence[str]) -> None:
    for name in names:
        try:
            _INSTRUMENTORS[name][1]()
        except Exception:  # noqa: BLE001
            logger.warning("llmtrace: could not uninstrument %s", name, exc_info=True)
    if isinstance(names, list):
        names.clear()


def _instrument_openai() -> None:
    from .instrumentation.openai import instrument_openai

    instrument_openai()


def _uninstrument_openai() -> None:
    from .instrumentation.openai import uninstrument_openai

    uninstrument_openai()


def _instrument_langchain() -> None:
    from .instrumentation.langchain import instrument_langchain

    instrument_langchain()


def _uninstrument_langchain() -> None:
    from .instrumentation.langchain import uninstrument_langchain

    uninstrument_langchain()


_LIBRARIES = {"openai": "openai", "langchain": "langchain_core"}
_INSTRUMENTORS: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {
    "openai": (_instrument_openai, _uninstrument_openai),
    "langchain": (_instrument_langchain, _uninstrument_langchain),
}


def _exit_flush(handle: Tracing) -> None:
    """At interpreter exit: flush and stop within ``shutdown_timeout``, never raise."""
    try:
        handle.shutdown()
    except Exception:  # noqa: BLE001 - an exit hook must not turn a clean exit into a traceback
        logger.warning("llmtrace: flushing spans at exit failed", exc_info=True)


def active() -> Tracing | None:
    """The handle of the current setup, or None before ``init()``."""
    return _active


def shutdown(timeout: float | None = None) -> bool:
    """Flush and stop llmtrace's exporting; True when everything was exported in time."""
    handle = _active
    return handle.shutdown(timeout) if handle is not None else True


def force_flush(timeout: float | None = None) -> bool:
    """Export queued spans now; False when that did not finish within ``timeout`` seconds."""
    handle = _active
    return handle.force_flush(timeout) if handle is not None else True
