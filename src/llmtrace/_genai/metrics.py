"""GenAI client metrics: token usage, operation duration, time to first chunk, cost.

``init()`` calls ``configure(meter_provider)`` once; every finished LLM call
(``LLMInvocation.stop()``/``fail()``) then calls ``record()``. Before
``configure()`` recording is a no-op. The instruments follow the OpenTelemetry
GenAI conventions (names, units, explicit bucket boundaries):

- ``gen_ai.client.token.usage`` histogram, ``{token}``, one point per token type
  (``gen_ai.token.type`` = ``input`` / ``output``)
- ``gen_ai.client.operation.duration`` histogram, seconds (with ``error.type`` on failure)
- ``gen_ai.client.operation.time_to_first_chunk`` histogram, seconds, streams only
- ``llmtrace.client.cost`` counter, USD, for calls with a known price

Attributes are low-cardinality only: operation, provider, request and response
model, server address and port, error type, prompt name and version. Never
user or session ids, never content.

For tests::

    with capture_metrics() as metrics:
        ...make LLM calls...
    metrics.points(semconv.METRIC_TOKEN_USAGE)   # -> [(attributes, data point), ...]
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry.util.types import AttributeValue

from .. import semconv
from .._prompts import prompt as prompts
from .._runtime import INSTRUMENTATION_NAME, VERSION

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Histogram
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from .record import InvocationRecord

# The conventions' explicit bucket boundaries.
TOKEN_BUCKETS: tuple[float, ...] = tuple(float(4**i) for i in range(14))  # 1 .. 67108864
DURATION_BUCKETS: tuple[float, ...] = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip

_PROMPT_KEYS = (semconv.GEN_AI_PROMPT_NAME, semconv.GEN_AI_PROMPT_VERSION)


class _Instruments:
    __slots__ = ("cost", "duration", "provider", "time_to_first_chunk", "token_usage")

    def __init__(self, meter_provider: Any) -> None:
        meter = meter_provider.get_meter(INSTRUMENTATION_NAME, VERSION)
        self.provider = meter_provider
        self.token_usage: Histogram = meter.create_histogram(
            semconv.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self.duration: Histogram = meter.create_histogram(
            semconv.METRIC_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.time_to_first_chunk: Histogram = meter.create_histogram(
            semconv.METRIC_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.cost: Counter = meter.create_counter(
            semconv.METRIC_COST,
            unit="USD",
            description="Cost of GenAI operations, from the prices llmtrace knows.",
        )


_instruments: _Instruments | None = None
_lock = threading.Lock()


def configure(meter_provider: Any) -> None:
    """Create the instruments once, from the MeterProvider init() chose (None: stop)."""
    global _instruments
    with _lock:
        if meter_provider is None:
            _instruments = None
        elif _instruments is None or _instruments.provider is not meter_provider:
            _instruments = _Instruments(meter_provider)


_given: dict[int, _Instruments] = {}


def instruments_for(meter_provider: Any) -> _Instruments:
    """Instruments on a MeterProvider an instrumentor was given (created once per provider)."""
    with _lock:
        found = _given.get(id(meter_provider))
        if found is None or found.provider is not meter_provider:
            found = _given[id(meter_provider)] = _Instruments(meter_provider)
        return found


def reset() -> None:
    """Stop recording (``record()`` is a no-op again)."""
    configure(None)


def is_configured() -> bool:
    return _instruments is not None


def _prompt(invocation: InvocationRecord) -> tuple[Any, Any]:
    """Prompt name and version: as the span recorded them, else the prompt in effect now."""
    span = invocation.span
    if span is not None and span.is_recording():
        name, version = invocation.recorded_prompt()
    else:
        source = prompts.prompt_attributes() or {}
        name, version = source.get(_PROMPT_KEYS[0]), source.get(_PROMPT_KEYS[1])
    return (
        name if isinstance(name, (str, int)) else None,
        version if isinstance(version, (str, int)) else None,
    )


def _base_attributes(invocation: InvocationRecord) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        semconv.GEN_AI_OPERATION_NAME: invocation.operation,
        semconv.GEN_AI_PROVIDER_NAME: invocation.provider,
    }
    if invocation.request_model:
        attributes[semconv.GEN_AI_REQUEST_MODEL] = invocation.request_model
    if invocation.response_model:
        attributes[semconv.GEN_AI_RESPONSE_MODEL] = invocation.response_model
    if invocation.server_address:
        attributes[semconv.SERVER_ADDRESS] = invocation.server_address
        if invocation.server_port is not None:
            attributes[semconv.SERVER_PORT] = invocation.server_port
    for key, value in zip(_PROMPT_KEYS, _prompt(invocation), strict=True):
        if value is not None:
            attributes[key] = value
    return attributes


# The attribute sets of one low-cardinality combination: (base, duration, input tokens,
# output tokens). Built once per combination and reused: the SDK copies what it keeps,
# and these dicts are never mutated after they are built.
_AttributeSets = tuple[
    dict[str, AttributeValue],
    dict[str, AttributeValue],
    dict[str, AttributeValue],
    dict[str, AttributeValue],
]
_attribute_sets: dict[tuple[Any, ...], _AttributeSets] = {}
_ATTRIBUTE_SETS_LIMIT = 512


def _build_sets(invocation: InvocationRecord) -> _AttributeSets:
    base = _base_attributes(invocation)
    duration = base
    if invocation.error_type:
        duration = {**base, semconv.ERROR_TYPE: invocation.error_type}
    extra: dict[str, AttributeValue] = {}
    usage = invocation.usage
    if usage is not None and usage.estimated:
        extra[semconv.LLMTRACE_USAGE_ESTIMATED] = True
    inputs = {**base, **extra, semconv.GEN_AI_TOKEN_TYPE: "input"}
    outputs = {**base, **extra, semconv.GEN_AI_TOKEN_TYPE: "output"}
    return base, duration, inputs, outputs


def _sets_for(invocation: InvocationRecord) -> _AttributeSets:
    usage = invocation.usage
    key = (
        invocation.operation,
        invocation.provider,
        invocation.request_model,
        invocation.response_model,
        invocation.server_address,
        invocation.server_port,
        invocation.error_type,
        usage is not None and usage.estimated,
        *_prompt(invocation),
    )
    try:
        sets = _attribute_sets.get(key)
    except TypeError:  # an unhashable value where a string belongs: do not cache it
        return _build_sets(invocation)
    if sets is None:
        sets = _build_sets(invocation)
        if len(_attribute_sets) >= _ATTRIBUTE_SETS_LIMIT:
            _attribute_sets.clear()
        _attribute_sets[key] = sets
    return sets


def record(invocation: InvocationRecord, duration_s: float) -> None:
    """Record one finished LLM call (no-op until configure() ran)."""
    instruments = invocation.instruments or _instruments
    if instruments is None:
        return
    attributes, duration, inputs, outputs = _sets_for(invocation)
    instruments.duration.record(duration_s, duration)
    usage = invocation.usage
    if usage is not None:
        if usage.input_tokens is not None:
            instruments.token_usage.record(usage.input_tokens, inputs)
        if usage.output_tokens is not None:
            instruments.token_usage.record(usage.output_tokens, outputs)
    if invocation.time_to_first_chunk is not None:
        instruments.time_to_first_chunk.record(invocation.time_to_first_chunk, attributes)
    cost = invocation.cost
    if cost is not None:
        total = cost.total
        if total > 0:
            instruments.cost.add(total, attributes)


class MetricCapture:
    """Metrics recorded inside ``capture_metrics()``, read back from an in-memory reader."""

    def __init__(self, reader: InMemoryMetricReader) -> None:
        self.reader = reader
        self._data: Any = None

    def collect(self) -> None:
        """Read what was recorded so far (points() does this on first use)."""
        self._data = self.reader.get_metrics_data()

    def metric(self, name: str) -> Any:
        """The metric called ``name`` (with .unit, .data), or None if nothing was recorded."""
        if self._data is None:
            self.collect()
        data = self._data
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        return metric
        return None

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """(attributes, data point) of every series of metric ``name``."""
        metric = self.metric(name)
        if metric is None:
            return []
        return [(dict(point.attributes or {}), point) for point in metric.data.data_points]


@contextmanager
def capture_metrics() -> Iterator[MetricCapture]:
    """Record llmtrace's metrics into memory for the block (tests); restores the setup after."""
    global _instruments
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    with _lock:
        saved = _instruments
        _instruments = _Instruments(provider)
    try:
        yield MetricCapture(reader)
    finally:
        with _lock:
            _instruments = saved
        provider.shutdown()
