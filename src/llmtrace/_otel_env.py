"""Standard OTEL_* variables that the OpenTelemetry SDK and exporters read, checked first.

llmtrace does not read these itself, but it builds the SDK objects that do, and those
raise on a malformed value (``OTEL_SPAN_EVENT_COUNT_LIMIT=ten``, an unknown gRPC
compression, an unknown exemplar filter, a tracer provider that does not load, named by
the API's tracer-provider variable). So ``init()`` asks here first: a malformed variable
is logged once per process, as one warning naming it, and the SDK gets the default
explicitly instead of reading it. A well-formed or absent variable changes nothing
(``None``: let the SDK read it).

    limits = span_limits()                       # None, or SpanLimits with the defaults
    compression = otlp_compression("traces", "grpc")
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry import environment_variables

from ._errors import Failed, attempt, logger

_warned: set[str] = set()
_lock = threading.Lock()

# SpanLimits argument -> its variable. Fallbacks follow the SDK: a per-kind attribute
# count falls back to OTEL_ATTRIBUTE_COUNT_LIMIT, the span value length to the general one.
_COUNT_LIMIT = "OTEL_ATTRIBUTE_COUNT_LIMIT"
_LENGTH_LIMIT = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"
_LIMITS = {
    "max_attributes": _COUNT_LIMIT,
    "max_events": "OTEL_SPAN_EVENT_COUNT_LIMIT",
    "max_links": "OTEL_SPAN_LINK_COUNT_LIMIT",
    "max_span_attributes": "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "max_event_attributes": "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
    "max_link_attributes": "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
    "max_attribute_length": _LENGTH_LIMIT,
    "max_span_attribute_length": "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
}
_DEFAULT_COUNT = 128  # the SDK's default for every count limit
_COMPRESSIONS = frozenset({"gzip", "deflate", "none"})
_EXEMPLAR_FILTERS = frozenset({"trace_based", "always_on", "always_off"})


def warn_once(var: str, raw: str, problem: str) -> None:
    """One warning per variable per process, naming it; the value is shown (no secrets here)."""
    with _lock:
        if var in _warned:
            return
        _warned.add(var)
    logger.warning("llmtrace: ignoring %s=%r (%s); using the default", var, raw, problem)


def _limit(var: str) -> tuple[bool, int | None]:
    """(well-formed, value) of a limit variable; value None when absent or empty (no limit)."""
    raw = os.environ.get(var)
    if raw is None or raw.strip() == "":
        return True, None
    try:
        value = int(raw.strip())
    except ValueError:
        warn_once(var, raw, "must be a non-negative integer")
        return False, None
    if value < 0:
        warn_once(var, raw, "must be a non-negative integer")
        return False, None
    return True, value


def check_import_time_variables() -> None:
    """Run before ``opentelemetry.sdk.trace`` is imported (``_runtime`` does, at import).

    That module reads OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT when it is imported and cannot be
    imported at all when the value is malformed; no argument can stand in for it, so a
    malformed value is removed from this process's environment (after the warning).
    """
    var = _LIMITS["max_span_attributes"]
    if "opentelemetry.sdk.trace" not in sys.modules and not _limit(var)[0]:
        os.environ.pop(var, None)


def span_limits() -> Any:
    """``SpanLimits`` with defaults in place of malformed variables, or None when all are fine."""
    checked = {argument: _limit(var) for argument, var in _LIMITS.items()}
    bad = [argument for argument, (ok, _) in checked.items() if not ok]
    if not bad:
        return None
    from opentelemetry.sdk.trace import SpanLimits

    count_ok, count = checked["max_attributes"]
    length_ok, length = checked["max_attribute_length"]
    general_count = count if count_ok and count is not None else _DEFAULT_COUNT
    general_length = length if length_ok and length is not None else SpanLimits.UNSET
    fallbacks: dict[str, int] = {
        "max_attributes": _DEFAULT_COUNT,
        "max_events": _DEFAULT_COUNT,
        "max_links": _DEFAULT_COUNT,
        "max_span_attributes": general_count,
        "max_event_attributes": general_count,
        "max_link_attributes": general_count,
        "max_attribute_length": SpanLimits.UNSET,
        "max_span_attribute_length": general_length,
    }
    # Only the malformed ones are given: the SDK still reads every well-formed variable.
    return SpanLimits(**{argument: fallbacks[argument] for argument in bad})


def otlp_compression(signal: str, protocol: str) -> Any:
    """The compression to pass to an OTLP exporter: None (let it read the environment),
    or "no compression" when the variable in effect is malformed."""
    for var in (
        f"OTEL_EXPORTER_OTLP_{signal.upper()}_COMPRESSION",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
    ):
        raw = os.environ.get(var)
        if raw is None:
            continue
        if raw.strip().lower() in _COMPRESSIONS:
            return None
        warn_once(var, raw, "must be gzip, deflate or none")
        if protocol == "grpc":
            import grpc  # type: ignore[import-untyped]

            return grpc.Compression.NoCompression
        from opentelemetry.exporter.otlp.proto.http import Compression

        return Compression.NoCompression
    return None


def exemplar_filter() -> Any:
    """None, or the SDK's default filter when OTEL_METRICS_EXEMPLAR_FILTER is malformed."""
    var = "OTEL_METRICS_EXEMPLAR_FILTER"
    raw = os.environ.get(var)
    if raw is None or raw.strip().lower() in _EXEMPLAR_FILTERS:
        return None
    warn_once(var, raw, "must be trace_based, always_on or always_off")
    from opentelemetry.sdk.metrics import TraceBasedExemplarFilter

    return TraceBasedExemplarFilter()


def global_provider(read: Callable[[], Any]) -> tuple[Any, bool]:
    """``read()`` (the API's get_tracer_provider), and whether it worked.

    With the API's tracer-provider variable naming a provider that does not load, the
    API raises on every call until a provider is set: warn once and report a failure.
    """
    provider = attempt(read)  # the API's entry-point loading may raise anything
    if not isinstance(provider, Failed):
        return provider, True
    warn_unloadable_tracer_provider()
    return None, False


def warn_unloadable_tracer_provider() -> None:
    """The API's tracer-provider variable names a provider that does not load."""
    var = environment_variables.OTEL_PYTHON_TRACER_PROVIDER
    warn_once(var, os.environ.get(var, ""), "no such tracer provider could be loaded")
