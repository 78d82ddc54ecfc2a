"""What ``init()`` exports to: the providers it builds or reuses, and their exporters.

    provider, owns = choose_tracer_provider(settings)      # the app's SDK provider, or ours
    for processor in export_processors(settings, timeout, patience):
        provider.add_span_processor(processor)             # one per exporter, plus the console
    meter_provider, owns_meter, prometheus = choose_meter_provider(settings)

Spans go through one ``ExportProcessor`` per exporter (OTLP, or exporter objects
passed to ``init()``), so a slow or dead exporter never holds up the others; the
on-disk spool, if configured, belongs to one of them. Metrics go to the
application's MeterProvider, or to one built here with OTLP and/or Prometheus
readers. Both providers llmtrace builds describe the service with the same resource
attributes (``resource_attributes``, ``service_name``).
"""

from __future__ import annotations

import weakref
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from . import _otel_env, _otlp
from ._config import Settings
from ._console import ConsoleTreeProcessor
from ._errors import logger
from ._export_processor import ExportProcessor
from ._runtime import VERSION
from ._spool import open_spool

# Providers init() built; weak, so a shut-down provider is not kept alive by this set.
_built_providers: weakref.WeakSet[TracerProvider] = weakref.WeakSet()


def _service_attributes(settings: Settings) -> dict[str, Any]:
    """The resource attributes of the service: ``resource_attributes`` and ``service_name``."""
    attributes: dict[str, Any] = dict(settings.resource_attributes)
    if settings.service_name:
        attributes["service.name"] = settings.service_name
    return attributes


def choose_tracer_provider(settings: Settings) -> tuple[TracerProvider, bool]:
    """The TracerProvider llmtrace uses, and whether llmtrace built (and so owns) it."""
    if settings.tracer_provider is not None:
        logger.debug("llmtrace: using the tracer_provider passed to init()")
        return settings.tracer_provider, False
    current, loaded = _otel_env.global_provider(trace.get_tracer_provider)
    if isinstance(current, TracerProvider) and current not in _built_providers:
        logger.debug(
            "llmtrace: an SDK TracerProvider is already set; adding llmtrace's processors to it"
        )
        return current, False
    resource_attributes = _service_attributes(settings)
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


def export_processors(
    settings: Settings, timeout: float, patience: float | None
) -> list[SpanProcessor]:
    """The span processors that export: one per exporter, then the terminal tree if enabled.

    ``timeout`` and ``patience`` bound each processor's own shutdown (see ``_setup``).
    """
    # One processor (queue, thread, counters) per exporter: a slow or dead one never holds
    # up the others.
    processors: list[SpanProcessor] = []
    # The spool (if any) belongs to one exporter: the OTLP endpoint, or the only exporter.
    spooled = "otlp" if "otlp" in settings.exporters else settings.exporters[0]
    for exporter in settings.exporters:
        spool = open_spool(settings) if exporter is spooled else None
        if exporter == "otlp":
            processors.append(
                ExportProcessor(
                    _otlp.span_exporter(settings),
                    settings.max_queue_size,
                    shutdown_timeout_s=timeout,
                    # A forked child builds its own exporter: no connection shared with the parent.
                    exporter_factory=lambda: _otlp.span_exporter(settings),
                    shutdown_patience_s=patience,
                    reachable=_otlp.reachability_probe(settings),
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


def choose_meter_provider(settings: Settings) -> tuple[Any, bool, Any]:
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
                # shutdown_on_exit=False: llmtrace's own exit hook shuts it down, within
                # shutdown_timeout (a second shutdown logs "shutdown can only be called once").
                provider = MeterProvider(
                    metric_readers=readers,
                    resource=Resource.create(_service_attributes(settings)),
                    shutdown_on_exit=False,
                    exemplar_filter=_otel_env.exemplar_filter(),
                )
                owns = True
                prometheus = next((r for r in readers if hasattr(r, "url")), None)
    return provider, owns, prometheus


def _metric_readers(settings: Settings) -> list[Any]:
    """The readers of a MeterProvider llmtrace builds: Prometheus and/or OTLP."""
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
        readers.append(_otlp.metric_reader(settings))
    return readers
