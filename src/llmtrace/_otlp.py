"""OTLP clients built from settings: the span exporter, the metric reader, a reachability probe.

    exporter = span_exporter(settings)     # gRPC or HTTP, per settings.protocol
    reader = metric_reader(settings)       # a PeriodicExportingMetricReader to the same place
    reachable = reachability_probe(settings)
    reachable()                            # True while the collector accepts TCP connections

Endpoint, headers, timeout, protocol and compression come from ``Settings``
(``init()`` arguments, ``LLMTRACE_*`` / ``OTEL_*`` variables); nothing here reads
them again. The OTLP exporter packages are imported only when a client is built.
"""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter

from . import _otel_env
from ._config import Settings

_PROBE_TIMEOUT_S = 0.5


def reachability_probe(settings: Settings) -> Callable[[], bool]:
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


def _traces_url(endpoint: str) -> str:
    """OTLP/HTTP: a base endpoint gets the /v1/traces path; a full one is kept."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else base + "/v1/traces"


def span_exporter(settings: Settings) -> SpanExporter:
    """The OTLP span exporter (gRPC or HTTP) to the configured endpoint."""
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


def metric_reader(settings: Settings) -> Any:
    """A periodic reader exporting metrics over OTLP to the endpoint spans go to."""
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
