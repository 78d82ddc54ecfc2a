"""GenAI client metrics: durations, time to first chunk, token usage, cost.

``init()`` calls ``configure(meter_provider)`` once; every finished LLM call
(``LLMInvocation.stop()``/``fail()``) then calls ``record()``. Before
``configure()`` recording is a no-op. The instruments follow the GenAI conventions
of ``open-telemetry/semantic-conventions-genai`` (names, units, explicit bucket
boundaries; ``docs/semconv.md`` names the version):

- ``gen_ai.client.inference.duration`` histogram, seconds (``error.type`` on failure);
  ``gen_ai.client.embeddings.duration`` for embeddings calls
- ``gen_ai.client.inference.time_to_first_chunk`` histogram, seconds, streams only
- ``gen_ai.client.inference.operation.input_tokens`` / ``.output_tokens`` histograms,
  ``{token}``, one point per call (0 when no usage came back, e.g. a failed call);
  ``gen_ai.client.embeddings.operation.input_tokens`` for embeddings calls
- ``gen_ai.client.inference.usage.input_tokens`` / ``.output_tokens`` counters, and
  ``.cache_read.input_tokens`` / ``.cache_write.input_tokens`` /
  ``.reasoning.output_tokens`` when reported and not 0, by ``gen_ai.token.modality``
  (``audio`` for the audio tokens a provider reports, ``unknown`` for the rest)
- ``llmtrace.client.cost`` counter, USD, for calls with a known price
- ``llmtrace.budget.exceeded`` / ``llmtrace.budget.rejected_calls`` counters: budgets that
  went over their limit, calls refused with ``BudgetExceeded`` (``llmtrace.budget.name``)

With ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai/dup`` (read by ``_semconv_compat``) the
previous instruments are recorded too: ``gen_ai.client.token.usage`` (by
``gen_ai.token.type``), ``gen_ai.client.operation.duration`` and
``gen_ai.client.operation.time_to_first_chunk``.

Every finished call is recorded, also when its trace is sampled out: the record comes
from the invocation, not the span. The duration histograms' count is the number of calls,
failed ones included. Attributes are low-cardinality only: operation, provider, request
and response model, server address and port, error type, prompt name, version and A/B
variant. Never user or session ids, never content (``docs/metrics.md`` says why).

For tests::

    with capture_metrics() as metrics:
        ...make LLM calls...
    metrics.points(semconv.METRIC_INFERENCE_INPUT_TOKENS)   # -> [(attributes, point), ...]
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry.util.types import AttributeValue

from .. import _semconv_compat, semconv
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

_PROMPT_KEYS = (
    semconv.GEN_AI_PROMPT_NAME,
    semconv.GEN_AI_PROMPT_VERSION,
    semconv.LLMTRACE_PROMPT_VARIANT,
)


_S, _T = "s", "{token}"
# attribute -> (instrument name, unit, description, histogram buckets or None for a counter)
_CURRENT: dict[str, tuple[str, str, str, tuple[float, ...] | None]] = {
    "inference_duration": (semconv.METRIC_INFERENCE_DURATION, _S,
        "GenAI client inference operation duration.", DURATION_BUCKETS),
    "embeddings_duration": (semconv.METRIC_EMBEDDINGS_DURATION, _S,
        "GenAI client embeddings operation duration.", DURATION_BUCKETS),
    "time_to_first_chunk": (semconv.METRIC_INFERENCE_TIME_TO_FIRST_CHUNK, _S,
        "Time to receive the first chunk of a streamed response.", DURATION_BUCKETS),
    "input": (semconv.METRIC_INFERENCE_INPUT_TOKENS, _T,
        "The number of input (prompt) tokens used per inference operation.", TOKEN_BUCKETS),
    "output": (semconv.METRIC_INFERENCE_OUTPUT_TOKENS, _T,
        "The number of output (completion) tokens used per inference operation.", TOKEN_BUCKETS),
    "embeddings_input": (semconv.METRIC_EMBEDDINGS_INPUT_TOKENS, _T,
        "The number of input tokens used per embeddings operation.", TOKEN_BUCKETS),
    "usage_input": (semconv.METRIC_USAGE_INPUT_TOKENS, _T,
        "The number of input (prompt) tokens used, including cached tokens.", None),
    "usage_output": (semconv.METRIC_USAGE_OUTPUT_TOKENS, _T,
        "The number of output (completion) tokens used, including reasoning tokens.", None),
    "cache_read": (semconv.METRIC_USAGE_CACHE_READ_INPUT_TOKENS, _T,
        "The number of input tokens served from a provider-managed cache.", None),
    "cache_write": (semconv.METRIC_USAGE_CACHE_WRITE_INPUT_TOKENS, _T,
        "The number of input tokens written to a provider-managed cache.", None),
    "reasoning": (semconv.METRIC_USAGE_REASONING_OUTPUT_TOKENS, _T,
        "The number of output tokens used for reasoning.", None),
    "cost": (semconv.METRIC_COST, "USD",
        "Cost of GenAI operations, from the prices llmtrace knows.", None),
    "budget_exceeded": (semconv.METRIC_BUDGET_EXCEEDED, "{budget}",
        "llmtrace budgets whose spend went over their limit.", None),
    "budget_rejected": (semconv.METRIC_BUDGET_REJECTED_CALLS, "{call}",
        "LLM calls refused with BudgetExceeded before they were sent.", None),
}  # fmt: skip
# The previous conventions' instruments, recorded only with ``gen_ai/dup``.
_PREVIOUS: dict[str, tuple[str, str, str, tuple[float, ...] | None]] = {
    "token_usage": (semconv.METRIC_TOKEN_USAGE, _T,
        "Number of input and output tokens used.", TOKEN_BUCKETS),
    "duration": (semconv.METRIC_OPERATION_DURATION, _S,
        "GenAI operation duration.", DURATION_BUCKETS),
    "time_to_first_chunk": (semconv.METRIC_TIME_TO_FIRST_CHUNK, _S,
        "Time to receive the first chunk of a streamed response.", DURATION_BUCKETS),
}  # fmt: skip


def _create(owner: Any, meter: Any, table: dict[str, tuple[Any, ...]]) -> None:
    for attribute, (name, unit, description, buckets) in table.items():
        if buckets is None:
            instrument = meter.create_counter(name, unit=unit, description=description)
        else:
            instrument = meter.create_histogram(
                name, unit=unit, description=description,
                explicit_bucket_boundaries_advisory=buckets,
            )  # fmt: skip
        setattr(owner, attribute, instrument)


class _Previous:
    """The instruments of the previous conventions (only with ``gen_ai/dup``)."""

    __slots__ = tuple(_PREVIOUS)
    token_usage: Histogram
    duration: Histogram
    time_to_first_chunk: Histogram

    def __init__(self, meter: Any) -> None:
        _create(self, meter, _PREVIOUS)


class _Instruments:
    __slots__ = (*_CURRENT, "previous", "provider")
    inference_duration: Histogram
    embeddings_duration: Histogram
    time_to_first_chunk: Histogram
    input: Histogram
    output: Histogram
    embeddings_input: Histogram
    usage_input: Counter
    usage_output: Counter
    cache_read: Counter
    cache_write: Counter
    reasoning: Counter
    cost: Counter
    budget_exceeded: Counter
    budget_rejected: Counter

    def __init__(self, meter_provider: Any) -> None:
        meter = meter_provider.get_meter(INSTRUMENTATION_NAME, VERSION)
        self.provider = meter_provider
        _create(self, meter, _CURRENT)
        self.previous = _Previous(meter) if _semconv_compat.previous_names else None


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


_NO_PROMPT = (None, None, None)


def _prompt(invocation: InvocationRecord) -> tuple[Any, ...]:
    """Prompt name, version and variant: as the call started with them (recording or
    sampled out), else (never started) the prompt in effect now."""
    if invocation.span is not None:
        values: tuple[Any, ...] = invocation.recorded_prompt()
    else:
        source = prompts.prompt_attributes() or {}
        values = tuple(source.get(key) for key in _PROMPT_KEYS)
    if values == _NO_PROMPT:  # most calls
        return values
    return tuple(value if isinstance(value, (str, int)) else None for value in values)


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


class _Sets:
    """The attribute sets of one low-cardinality combination, built once and reused.

    The SDK copies what it keeps, and these dicts are never mutated after they are built.
    """

    __slots__ = ("base", "duration", "modal", "previous_input", "previous_output", "tokens")

    def __init__(self, invocation: InvocationRecord) -> None:
        base = self.base = _base_attributes(invocation)
        duration = base
        if invocation.error_type:
            duration = {**base, semconv.ERROR_TYPE: invocation.error_type}
        self.duration = duration
        estimated: dict[str, AttributeValue] = {}
        usage = invocation.usage
        if usage is not None and usage.estimated:
            estimated[semconv.LLMTRACE_USAGE_ESTIMATED] = True
        self.tokens = {**duration, **estimated}
        self.modal = {**base, **estimated, semconv.GEN_AI_TOKEN_MODALITY: "unknown"}
        self.previous_input = {**base, **estimated, semconv.GEN_AI_TOKEN_TYPE: "input"}
        self.previous_output = {**base, **estimated, semconv.GEN_AI_TOKEN_TYPE: "output"}


_attribute_sets: dict[tuple[Any, ...], _Sets] = {}
_ATTRIBUTE_SETS_LIMIT = 512


def _sets_for(invocation: InvocationRecord) -> _Sets:
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
        return _Sets(invocation)
    if sets is None:
        sets = _Sets(invocation)
        if len(_attribute_sets) >= _ATTRIBUTE_SETS_LIMIT:
            _attribute_sets.clear()
        _attribute_sets[key] = sets
    return sets


def _add_by_modality(counter: Counter, total: int, audio: int | None, sets: _Sets) -> None:
    """``total`` tokens on ``counter``: reported audio ones as ``audio``, the rest ``unknown``."""
    if audio:
        counter.add(audio, {**sets.modal, semconv.GEN_AI_TOKEN_MODALITY: "audio"})
        total -= audio
        if total <= 0:
            return
    counter.add(total, sets.modal)


def record(invocation: InvocationRecord, duration_s: float) -> None:
    """Record one finished LLM call (no-op until configure() ran)."""
    instruments = invocation.instruments or _instruments
    if instruments is None:
        return
    sets = _sets_for(invocation)
    usage = invocation.usage
    input_tokens = output_tokens = None
    if usage is not None:
        input_tokens, output_tokens = usage.input_tokens, usage.output_tokens
    if invocation.operation == semconv.OP_EMBEDDINGS:
        instruments.embeddings_duration.record(duration_s, sets.duration)
        instruments.embeddings_input.record(input_tokens or 0, sets.tokens)
    else:
        instruments.inference_duration.record(duration_s, sets.duration)
        # Conventions: one point per operation, failed ones included (0 without usage).
        instruments.input.record(input_tokens or 0, sets.tokens)
        instruments.output.record(output_tokens or 0, sets.tokens)
        audio_in = usage.input_audio_tokens if usage is not None else None
        audio_out = usage.output_audio_tokens if usage is not None else None
        _add_by_modality(instruments.usage_input, input_tokens or 0, audio_in, sets)
        _add_by_modality(instruments.usage_output, output_tokens or 0, audio_out, sets)
        if usage is not None:
            if usage.cache_read_input_tokens:
                instruments.cache_read.add(usage.cache_read_input_tokens, sets.modal)
            if usage.cache_creation_input_tokens:
                instruments.cache_write.add(usage.cache_creation_input_tokens, sets.modal)
            if usage.reasoning_output_tokens:
                instruments.reasoning.add(usage.reasoning_output_tokens, sets.modal)
    if invocation.time_to_first_chunk is not None:
        instruments.time_to_first_chunk.record(invocation.time_to_first_chunk, sets.base)
    cost = invocation.cost
    if cost is not None:
        total = cost.total
        if total > 0:
            instruments.cost.add(total, sets.base)
    previous = instruments.previous
    if previous is not None:
        _record_previous(previous, invocation, duration_s, sets)


def _record_previous(
    previous: _Previous, invocation: InvocationRecord, duration_s: float, sets: _Sets
) -> None:
    previous.duration.record(duration_s, sets.duration)
    usage = invocation.usage
    if usage is not None:
        if usage.input_tokens is not None:
            previous.token_usage.record(usage.input_tokens, sets.previous_input)
        if usage.output_tokens is not None:
            previous.token_usage.record(usage.output_tokens, sets.previous_output)
    if invocation.time_to_first_chunk is not None:
        previous.time_to_first_chunk.record(invocation.time_to_first_chunk, sets.base)


def _budget_attributes(name: str | None) -> dict[str, AttributeValue]:
    return {semconv.LLMTRACE_BUDGET_NAME: name} if isinstance(name, str) and name else {}


def record_budget_exceeded(name: str | None) -> None:
    """A budget went over its limit (once per budget block)."""
    instruments = _instruments
    if instruments is not None:
        instruments.budget_exceeded.add(1, _budget_attributes(name))


def record_budget_rejection(name: str | None) -> None:
    """An LLM call was refused with ``BudgetExceeded`` before it was sent."""
    instruments = _instruments
    if instruments is not None:
        instruments.budget_rejected.add(1, _budget_attributes(name))


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
