"""llmtrace's auto-instrumentations, one package per library (``llmtrace.instrumentation.<name>``).

Each package's ``instrument_<name>()`` / ``uninstrument_<name>()`` switch its
``BaseInstrumentor`` (also the ``llmtrace_<name>`` entry point) on and off through
``switch_on`` / ``switch_off`` below, so calling them twice is harmless.
"""

from __future__ import annotations

from typing import Any


def switch_on(instrumentor: Any, **kwargs: Any) -> None:
    """Instrument unless already instrumented (the instrumentor is a singleton)."""
    if not instrumentor.is_instrumented_by_opentelemetry:
        # The package metadata check costs milliseconds; a failed patch raises anyway.
        instrumentor.instrument(skip_dep_check=True, **kwargs)


def switch_off(instrumentor: Any) -> None:
    """Undo ``switch_on``; nothing happens when not instrumented."""
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
