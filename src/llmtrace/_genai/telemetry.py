"""Where an integration's spans and metrics go: what its instrumentor was given, or ours.

    tracer, instruments = given_telemetry(**kwargs)   # in BaseInstrumentor._instrument

OpenTelemetry's instrumentor contract passes ``tracer_provider`` / ``meter_provider``
to ``instrument()``. Each is resolved once, here: a tracer and metric instruments on
what was given, or None for either, meaning llmtrace's own setup at call time.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.trace import Tracer

from .._runtime import INSTRUMENTATION_NAME, VERSION
from . import metrics

__all__ = ["given_telemetry"]


def given_telemetry(
    tracer_provider: Any = None, meter_provider: Any = None, **_other: Any
) -> tuple[Tracer | None, Any]:
    """(tracer, metric instruments) on the providers given; None where none was given."""
    tracer = tracer_provider.get_tracer(INSTRUMENTATION_NAME, VERSION) if tracer_provider else None
    instruments = metrics.instruments_for(meter_provider) if meter_provider else None
    return tracer, instruments
