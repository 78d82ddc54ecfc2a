"""The Prometheus scrape endpoint behind ``init(metrics_exporter="prometheus")``.

``_export`` imports this module only when Prometheus export is asked for (it needs the
``prometheus`` extra: ``opentelemetry-exporter-prometheus``)::

    reader = serve(host="localhost", port=9464)   # a MetricReader, or None (one WARNING)
    MeterProvider(metric_readers=[reader])
    reader.url                                    # http://localhost:9464/metrics
    reader.shutdown()                             # stop serving, free the port

The reader is OpenTelemetry's ``PrometheusMetricReader``: metrics are converted on each
scrape (cumulative, Prometheus names: ``gen_ai.client.inference.duration`` in seconds
becomes ``gen_ai_client_inference_duration_seconds``) and registered in
``prometheus_client``'s default registry, as OpenTelemetry's own ``prometheus`` exporter
does, so an application that already serves that registry shows them there too. The
HTTP server is ``prometheus_client``'s, on a daemon thread; ``shutdown()`` stops it.

A port already in use (another process, a second worker of the same app) is one WARNING
and no endpoint, never an exception into the application.
"""

from __future__ import annotations

import threading
from typing import Any
from wsgiref.simple_server import WSGIServer

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from prometheus_client import start_http_server

from ._errors import logger


class ServedPrometheusReader(PrometheusMetricReader):
    """A ``PrometheusMetricReader`` that owns the HTTP server Prometheus scrapes."""

    def __init__(self, server: WSGIServer, thread: threading.Thread, host: str) -> None:
        super().__init__()
        self._server: WSGIServer | None = server
        self._thread = thread
        self.host = host
        self.port: int = server.server_address[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        try:
            server.shutdown()
            server.server_close()
            self._thread.join(timeout_millis / 1000)
        finally:
            super().shutdown(timeout_millis, **kwargs)


def serve(host: str, port: int) -> ServedPrometheusReader | None:
    """Listen on ``host:port`` (0: a free port) and return the reader; None if it cannot."""
    try:
        server, thread = start_http_server(port, addr=host)
    except OSError as exc:
        logger.warning(
            "llmtrace: cannot serve Prometheus metrics on %s:%d (%s); metrics are not "
            "exported. Choose a free port with prometheus_port= or LLMTRACE_PROMETHEUS_PORT",
            host,
            port,
            exc.strerror or exc,
        )
        return None
    reader = ServedPrometheusReader(server, thread, host)
    logger.debug("llmtrace: serving Prometheus metrics at %s", reader.url)
    return reader
