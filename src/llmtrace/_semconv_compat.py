"""Which GenAI convention names llmtrace writes: the current ones, and the previous ones on request.

llmtrace follows the GenAI conventions of ``open-telemetry/semantic-conventions-genai``
(``docs/semconv.md`` names the version). Where that renamed something llmtrace wrote
before, only the current name is written, unless the application asks for both with the
conventions' own switch, read once per process::

    OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai/dup    # current names and the previous ones

The previous names are those of ``open-telemetry/semantic-conventions`` 1.44.0 (the
``opentelemetry-semantic-conventions`` package): the span attribute
``gen_ai.usage.cache_creation.input_tokens`` and the metrics
``gen_ai.client.token.usage``, ``gen_ai.client.operation.duration`` and
``gen_ai.client.operation.time_to_first_chunk``. ``gen_ai_latest_experimental`` (the
conventions' value for "the latest names only") is what llmtrace does anyway.

    from llmtrace import _semconv_compat
    if _semconv_compat.previous_names: ...
"""

from __future__ import annotations

import os

OPT_IN_VARIABLE = "OTEL_SEMCONV_STABILITY_OPT_IN"
DUPLICATE = "gen_ai/dup"


def _read() -> bool:
    values = os.environ.get(OPT_IN_VARIABLE, "")
    return DUPLICATE in {value.strip().lower() for value in values.split(",")}


# Read once at import: never per call. refresh() re-reads it (tests, or after changing it).
previous_names: bool = _read()


def refresh() -> bool:
    """Re-read ``OTEL_SEMCONV_STABILITY_OPT_IN``; whether the previous names are written."""
    global previous_names
    previous_names = _read()
    return previous_names
