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
import socket
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from . import _otel_env
from ._config import INSTRUMENTATIONS, KNOWN_INSTRUMENTATIONS, Settings, resolve_settings
from ._console import ConsoleTreeProcessor
from ._errors import ConfigurationError, Failed, attempt, internal_errors, logger
from ._processors import ContextAttributesProcessor, ExportProcessor
from ._runtime import VERSION, runtime
from ._spool import open_spool
from .instrumentation import switch_off, switch_on

# shutdown_timeout left unset: exit-time flushing gives up after DEFAULT_SHUTDOWN_TIMEOUT s
# when the collector is unreachable or failing, but waits up to SHUTDOWN_PATIENCE s in all
# for one that is reachable and has not failed an export since (MLflow takes 7-8 s to accept
# its first GenAI spans). A shutdown_timeout that is set is a hard bound.
DEFAULT_SHUTDOWN_TIMEOUT = 5.0
SHUTDOWN_PATIENCE = 30.0

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
        # The endpoint Prometheus scrapes (metrics_exporter="prometheus"), or None.
        self.prometheus: Any = None
        self._owns_provider = owns_provider
        self._owns_meter_provider = owns_meter_provider
        self._processors = list(processors)
        self._shut_down = False

    @property
    def prometheus_url(self) -> str | None:
        """Where Prometheus scrapes llmtrace's metrics (``metrics_exporter="prometheus"``)."""
        return self.prometheus.url if self.prometheus is not None else None

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
        limit = _shutdown_limits(self.settings, timeout)[0]
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
                from ._genai import metrics

                metrics.reset()
            if self.prometheus is not None:
                # Now, not after the timed flush: the port is free for the next init().
                with internal_errors:
                    self.prometheus.shutdown()
        if self.tracer_provider is None:
            return True
        limit, patience = _shutdown_limits(self.settings, timeout)
        return _run_with_timeout(
            lambda: self._stop(limit, patience), max(limit, patience or 0.0), "shutdown"
        )

    def _flush(self, timeout: float) -> bool:
        # Within 90% of the timeout, as _stop(): the caller hears our account, not a bare
        # "did not finish".
        deadline = time.monotonic() + 0.9 * timeout
        ok = True
        for processor in self._processors:
            ok = processor.force_flush(_millis_left(deadline)) and ok
        if self._owns_meter_provider and self.meter_provider is not None:
            ok = _metrics_done(self.meter_provider.force_flush, deadline, "flushed") and ok
        return ok

    def _stop(self, timeout: float, patience: float | None = None) -> bool:
        # Our export processors stop within 90% of the timeout, leaving the rest for
        # closing exporters, so the caller hears their precise account, not a bare timeout.
        # All of them start flushing at once: several exporters share one time budget.
        started = time.monotonic()
        exporting = [p for p in self._processors if isinstance(p, ExportProcessor)]
        for exporter in exporting:
            exporter.begin_stop()
        ok = True
        for exporter in exporting:
            spent = time.monotonic() - started
            ok = (
                exporter.stop(
                    max(0.0, 0.9 * timeout - spent),
                    None if patience is None else max(0.0, 0.9 * patience - spent),
                )
                and ok
            )
        deadline = started + max(timeout, patience or 0.0)
        if self._owns_provider and self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        else:
            for processor in self._processors:
                processor.shutdown()
        if self._owns_meter_provider and self.meter_provider is not None:
            done = _metrics_done(self.meter_provider.shutdown, deadline, "exported at shutdown")
            ok = done and ok
        return ok


def _shutdown_limits(settings: Settings, timeout: float | None) -> tuple[float, float | None]:
    """(timeout, patience) of a flush or shutdown: see DEFAULT_SHUTDOWN_TIMEOUT."""
    if timeout is not None:
        return timeout, None
    if settings.shutdown_timeout is not None:
        return settings.shutdown_timeout, None
    return DEFAULT_SHUTDOWN_TIMEOUT, SHUTDOWN_PATIENCE


def _metrics_done(step: Callable[..., Any], deadline: float, what: str) -> bool:
    """Flush or shut down the MeterProvider; a collector that is down costs one log line.

    The SDK raises (e.g. ``MetricsTimeoutError``) when a reader does not finish in time;
    that is the collector's state, not an llmtrace bug: no traceback.
    """
    left = _millis_left(deadline)
    if left > 0:
        done = attempt(step, timeout_millis=left)  # the SDK reports a slow collector by raising
        if isinstance(done, Failed):
            logger.debug("llmtrace: metrics not %s: %r", what, done.error)
        elif done is not False:
            return True
    logger.warning(
        "llmtrace: metrics were not %s in time (collector unreachable or too slow?)", what
    )
    return False


def _millis_left(deadline: float) -> int:
    return max(0, int((deadline - time.monotonic()) * 1000))


def _run_with_timeout(func: Callable[[], bool], timeout: float, what: str) -> bool:
    """Run ``func`` in a daemon thread and give up waiting after ``timeout`` seconds."""
    result: list[bool] = []

    def target() -> None:
        done = attempt(func)  # an exporter failure must not reach the app
        if isinstance(done, Failed):
            logger.warning("llmtrace: %s failed", what, exc_info=done.error)
            result.append(False)
        else:
            result.append(done)

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
    metrics_exporter: str | Sequence[str] | None = None,
    prometheus_host: str | None = None,
    prometheus_port: int | None = None,
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
    providers: Mapping[str, str] | None = None,
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
    meter_provider, owns_meter, prometheus = _choose_meter_provider(settings)
    handle = Tracing(settings, provider, owns, processors, meter_provider, owns_meter)
    handle.prometheus = prometheus
    if owns:
        atexit.register(_exit_flush, handle)
    return handle


def _configure_extensions(settings: Settings) -> None:
    """Hand settings to the optional modules that need them (pricing, OpenAI hosts)."""
    from ._genai import providers

    providers.configure_hosts(settings.providers)
    if settings.prices is not None:
        from ._genai.pricing import load_price_overrides

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
    # One processor (queue, thread, counters) per exporter: a slow or dead one never holds
    # up the others.
    processors: list[SpanProcessor] = []
    timeout, patience = _shutdown_limits(settings, None)
    # The spool (if any) belongs to one exporter: the OTLP endpoint, or the only exporter.
    spooled = "otlp" if "otlp" in settings.exporters else settings.exporters[0]
    for exporter in settings.exporters:
        spool = open_spool(settings) if exporter is spooled else None
        if exporter == "otlp":
            processors.append(
                ExportProcessor(
                    _otlp_exporter(settings),
                    settings.max_queue_size,
                    shutdown_timeout_s=timeout,
                    # A forked child builds its own exporter: no connection shared with the parent.
                    exporter_factory=lambda: _otlp_exporter(settings),
                    shutdown_patience_s=patience,
                    reachable=_reachability_probe(settings),
                    spool=spool,
                    quiesce_on_fork=settings.protocol == "grpc",
                )
            )
        elif not isinstance(exporter, str):
            processors.append(
                ExportProcessor(
                    exporter,
                    settings.max_queue_size,
                    shutdown_timeout_s=timeout,
                    shutdown_patience_s=patience,
                    spool=spool,
                )
            )
    if settings.console_enabled:
        processors.append(ConsoleTreeProcessor())
    return processors


def _reachability_probe(settings: Settings) -> Callable[[], bool]:
    """Whether the OTLP collector accepts TCP connections (decides a patient shutdown)."""
    default_port = 4317 if settings.protocol == "grpc" else 4318
    parts = urllib.parse.urlsplit(settings.endpoint or f"http://localhost:{default_port}")
    host = parts.hostname or "localhost"
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = default_port

    def reachable() -> bool:
        try:
            socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S).close()
        except OSError:
            return False
        return True

    return reachable


_PROBE_TIMEOUT_S = 0.5


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


def _choose_meter_provider(settings: Settings) -> tuple[Any, bool, Any]:
    """The MeterProvider for GenAI metrics, whether llmtrace owns it, its Prometheus reader."""
    if not settings.metrics:
        return None, False, None
    from opentelemetry import metrics as otel_metrics
    from opentelemetry.sdk.metrics import MeterProvider

    provider: Any = settings.meter_provider
    owns = False
    prometheus = None
    if provider is None:
        current = otel_metrics.get_meter_provider()
        if isinstance(current, MeterProvider):
            provider = current
            if settings.metrics_exporter:
                logger.info(
                    "llmtrace: metrics go to the application's MeterProvider; "
                    "metrics_exporter applies only to one llmtrace builds"
                )
        else:
            readers = _metric_readers(settings)
            if readers:
                resource_attributes = dict(settings.resource_attributes)
                if settings.service_name:
                    resource_attributes["service.name"] = settings.service_name
                # shutdown_on_exit=False: llmtrace's own exit hook shuts it down, within
                # shutdown_timeout (a second shutdown logs "shutdown can only be called once").
                provider = MeterProvider(
                    metric_readers=readers,
                    resource=Resource.create(resource_attributes),
                    shutdown_on_exit=False,
                    exemplar_filter=_otel_env.exemplar_filter(),
                )
                owns = True
                prometheus = next((r for r in readers if hasattr(r, "url")), None)
    if provider is not None:
        from ._genai import metrics

        metrics.configure(provider)
    return provider, owns, prometheus


def _metric_readers(settings: Settings) -> list[Any]:
    readers: list[Any] = []
    if "prometheus" in settings.metric_exporters:
        try:
            from ._prometheus import serve
        except ImportError:
            logger.warning(
                "llmtrace: metrics_exporter=prometheus needs the opentelemetry-exporter-"
                "prometheus package (pip install 'llmtrace[prometheus]'); metrics are not served"
            )
        else:
            reader = serve(settings.prometheus_host, settings.prometheus_port)
            if reader is not None:
                readers.append(reader)
    if "otlp" in settings.metric_exporters:
        readers.append(_otlp_metric_reader(settings))
    return readers


def _otlp_metric_reader(settings: Settings) -> Any:
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
        from ._metrics_export import CheckedMetricExporter

        url = endpoint.rstrip("/").removesuffix("/v1/traces") + "/v1/metrics" if endpoint else None
        # Steps aside (one warning) where the endpoint takes traces only: Phoenix, MLflow.
        exporter = CheckedMetricExporter(
            endpoint=url,
            headers=dict(settings.headers) or None,
            timeout=settings.export_timeout,
            compression=_otel_env.otlp_compression("metrics", "http"),
        )
    # The reader's own export timeout defaults to 30 s; a dead collector must cost no more
    # than export_timeout per attempt here either.
    return PeriodicExportingMetricReader(
        exporter, export_timeout_millis=settings.export_timeout * 1000
    )


def _instrumentor(name: str) -> Any:
    """The instrumentor registered as entry point ``llmtrace_<name>`` (a singleton)."""
    found = entry_points(group="opentelemetry_instrumentor", name=f"llmtrace_{name}")
    for entry_point in found:
        return entry_point.load()()
    raise LookupError(f"no opentelemetry_instrumentor entry point llmtrace_{name}")


def _installed(module: str) -> bool:
    """True when ``module`` is importable; a dotted name whose parent is missing is not."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # find_spec("google.genai") without any "google" package
        return False


def _instrument(handle: Tracing) -> None:
    if not handle.enabled:
        return
    wanted = handle.settings.instrument
    names = KNOWN_INSTRUMENTATIONS if wanted is None else wanted
    for name in names:
        if not _installed(INSTRUMENTATIONS[name]):
            if wanted is not None:
                logger.warning("llmtrace: cannot instrument %s: the package is not installed", name)
            continue
        done = attempt(_switch, switch_on, name)  # a failed patch must not stop the app
        if not isinstance(done, Failed):
            handle.instrumented.append(name)
        elif isinstance(done.error, ConfigurationError):
            raise done.error
        else:
            logger.warning("llmtrace: could not instrument %s", name, exc_info=done.error)


def _switch(switch: Callable[[Any], Any], name: str) -> None:
    switch(_instrumentor(name))


def _uninstrument(names: Sequence[str]) -> None:
    for name in names:
        done = attempt(_switch, switch_off, name)
        if isinstance(done, Failed):
            logger.warning("llmtrace: could not uninstrument %s", name, exc_info=done.error)
    if isinstance(names, list):
        names.clear()


def _exit_flush(handle: Tracing) -> None:
    """At interpreter exit: flush and stop within ``shutdown_timeout``, never raise."""
    done = attempt(handle.shutdown)  # a clean exit must not turn into a traceback
    if isinstance(done, Failed):
        logger.warning("llmtrace: flushing spans at exit failed", exc_info=done.error)


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
