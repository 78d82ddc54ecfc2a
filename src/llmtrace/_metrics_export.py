"""OTLP/HTTP metric export that steps aside for trace-only backends.

Phoenix, MLflow, Jaeger and Tempo take traces but answer ``/v1/metrics`` with 404 or
405; the OpenTelemetry exporter would log an error on every export for as long as the
app runs. Before its first export this exporter asks the endpoint once, with an empty
(valid) OTLP request: on 404/405 it logs one warning naming the setting and exports no
metrics there from then on; on any other answer it exports as usual::

    exporter = CheckedMetricExporter(endpoint=url, headers=headers, timeout=10)
    reader = PeriodicExportingMetricReader(exporter)

The check runs in the metric reader's thread, never in the application's.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics.export import MetricExportResult, MetricsData

from ._errors import internal_errors, logger

# Answers that mean "no metrics here": not found, method not allowed.
_NO_METRICS_STATUSES = frozenset({404, 405})
# A check that gets no HTTP answer (collector down) is retried at the next export, this
# many times; after that the endpoint is assumed to take metrics.
_MAX_CHECKS = 3
_CHECK_TIMEOUT_S = 5.0


class CheckedMetricExporter(OTLPMetricExporter):
    """``OTLPMetricExporter`` (HTTP) that stops exporting where metrics are not accepted."""

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        compression: Any = None,
    ) -> None:
        super().__init__(
            endpoint=endpoint, headers=headers, timeout=timeout, compression=compression
        )
        self.metrics_url = endpoint
        self._check_headers = dict(headers or {})
        self._check_timeout = min(timeout or _CHECK_TIMEOUT_S, _CHECK_TIMEOUT_S)
        self.accepts_metrics: bool | None = None  # None: not known yet
        self._checks = 0

    def export(
        self,
        metrics_data: MetricsData,
        timeout_millis: float | None = 10000,
        **kwargs: Any,
    ) -> MetricExportResult:
        if self.accepts_metrics is None:
            with internal_errors:
                self._check()
        if self.accepts_metrics is False:
            return MetricExportResult.SUCCESS  # nothing to send there; not a failure
        return super().export(metrics_data, timeout_millis=timeout_millis, **kwargs)

    def _check(self) -> None:
        url = self.metrics_url
        if url is None or not url.startswith(("http://", "https://")):
            self.accepts_metrics = True
            return
        self._checks += 1
        status = _post_empty_request(url, self._check_headers, self._check_timeout)
        if status in _NO_METRICS_STATUSES:
            self.accepts_metrics = False
            logger.warning(
                "llmtrace: %s answers metric exports with HTTP %d (a trace-only backend); "
                "llmtrace sends it no metrics. Set metrics=False (LLMTRACE_METRICS=false) "
                "to silence this, or send metrics to a collector that takes them",
                url,
                status,
            )
        elif status is not None or self._checks >= _MAX_CHECKS:
            self.accepts_metrics = True


def _post_empty_request(url: str, headers: Mapping[str, str], timeout: float) -> int | None:
    """The HTTP status of an empty OTLP metrics request, or None when nothing answered."""
    request = urllib.request.Request(
        url,
        data=b"",  # an ExportMetricsServiceRequest with no metrics, in protobuf
        headers={**headers, "Content-Type": "application/x-protobuf"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (OSError, ValueError):
        return None
