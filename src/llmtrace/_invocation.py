"""One typed record of an LLM call: providers fill fields, the record writes the span.

Every LLM span (OpenAI, LangChain, ``llm_call``) goes through ``LLMInvocation``:

    inv = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o")
    inv.start()                       # opens the CLIENT span "chat gpt-4o"
    ...call the model; fill inv.response_model, inv.usage, inv.output_messages...
    inv.stop()                        # tokens -> cost -> attributes -> metrics -> roll-up -> end
    # or inv.fail(exc)

``stop()`` and ``fail()`` are idempotent, so a stream wrapper, a context
manager exit and a garbage-collection hook can all call them safely. All of it
runs inside the never-raise guard: a bug here never reaches the caller.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from . import _rollup, _semconv_compat, budgets, metrics, pricing, prompts, semconv
from ._errors import internal_errors, swallow
from ._runtime import runtime
from ._serialize import to_json
from .spans import record_error, redacted
from .tokens import Usage

# Wrappers around an LLM call (the LangChain handler) can put a Mapping of extra
# attributes under this context key; the next LLM span started beneath picks them up.
LLM_SPAN_ATTRIBUTES_KEY = otel_context.create_key("llmtrace.llm_span_attributes")

# Request fields written as span attributes when set, in this order.
_REQUEST_KEYS: tuple[tuple[str, str], ...] = (
    ("request_model", semconv.GEN_AI_REQUEST_MODEL),
    ("temperature", semconv.GEN_AI_REQUEST_TEMPERATURE),
    ("top_p", semconv.GEN_AI_REQUEST_TOP_P),
    ("top_k", semconv.GEN_AI_REQUEST_TOP_K),
    ("max_tokens", semconv.GEN_AI_REQUEST_MAX_TOKENS),
    ("seed", semconv.GEN_AI_REQUEST_SEED),
    ("stop_sequences", semconv.GEN_AI_REQUEST_STOP_SEQUENCES),
    ("choice_count", semconv.GEN_AI_REQUEST_CHOICE_COUNT),
    ("stream", semconv.GEN_AI_REQUEST_STREAM),
    ("frequency_penalty", semconv.GEN_AI_REQUEST_FREQUENCY_PENALTY),
    ("presence_penalty", semconv.GEN_AI_REQUEST_PRESENCE_PENALTY),
    ("encoding_formats", semconv.GEN_AI_REQUEST_ENCODING_FORMATS),
    ("reasoning_level", semconv.GEN_AI_REQUEST_REASONING_LEVEL),
    ("output_type", semconv.GEN_AI_OUTPUT_TYPE),
    ("request_service_tier", semconv.OPENAI_REQUEST_SERVICE_TIER),
    ("conversation_id", semconv.GEN_AI_CONVERSATION_ID),
    ("server_address", semconv.SERVER_ADDRESS),
    ("server_port", semconv.SERVER_PORT),
)
_RESPONSE_KEYS: tuple[tuple[str, str], ...] = (
    ("response_model", semconv.GEN_AI_RESPONSE_MODEL),
    ("response_id", semconv.GEN_AI_RESPONSE_ID),
    ("finish_reasons", semconv.GEN_AI_RESPONSE_FINISH_REASONS),
    ("system_fingerprint", semconv.OPENAI_RESPONSE_SYSTEM_FINGERPRINT),
    ("response_service_tier", semconv.OPENAI_RESPONSE_SERVICE_TIER),
    ("embedding_dimensions", semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT),
    ("time_to_first_chunk", semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK),
)
_USAGE_KEYS: tuple[tuple[str, str], ...] = (
    ("input_tokens", semconv.GEN_AI_USAGE_INPUT_TOKENS),
    ("output_tokens", semconv.GEN_AI_USAGE_OUTPUT_TOKENS),
    ("cache_read_input_tokens", semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
    ("cache_creation_input_tokens", semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS),
    ("reasoning_output_tokens", semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),
    ("input_audio_tokens", semconv.GEN_AI_USAGE_AUDIO_INPUT_TOKENS),
    ("output_audio_tokens", semconv.GEN_AI_USAGE_AUDIO_OUTPUT_TOKENS),
)
# Content fields: serialised to JSON within the size budget, only with capture on.
_CONTENT_KEYS: tuple[tuple[str, str], ...] = (
    ("input_messages", semconv.GEN_AI_INPUT_MESSAGES),
    ("system_instructions", semconv.GEN_AI_SYSTEM_INSTRUCTIONS),
    ("output_messages", semconv.GEN_AI_OUTPUT_MESSAGES),
    ("tool_definitions", semconv.GEN_AI_TOOL_DEFINITIONS),
)


def _reader(keys: tuple[tuple[str, str], ...]) -> tuple[attrgetter[Any], tuple[str, ...]]:
    """Read all the fields in one C call; the attribute keys in the same order."""
    return attrgetter(*(name for name, _ in keys)), tuple(key for _, key in keys)


_read_request, _REQUEST_ATTRIBUTES = _reader(_REQUEST_KEYS)
_read_response, _RESPONSE_ATTRIBUTES = _reader(_RESPONSE_KEYS)
_read_usage, _USAGE_ATTRIBUTES = _reader(_USAGE_KEYS)
_NO_REQUEST: tuple[Any, ...] = (None,) * len(_REQUEST_KEYS)
_SUPPRESS_KEY = otel_context._SUPPRESS_INSTRUMENTATION_KEY
_CLIENT = SpanKind.CLIENT
_PROMPT_NAME, _PROMPT_VERSION = semconv.GEN_AI_PROMPT_NAME, semconv.GEN_AI_PROMPT_VERSION


@dataclass(slots=True, eq=False)
class LLMInvocation:
    """Everything known about one LLM call. ``None`` fields are simply not written."""

    operation: str
    provider: str
    request_model: str | None = None
    # request
    temperature: float | None = None
    top_p: float | None = None
    top_k: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    stop_sequences: list[str] | None = None
    choice_count: int | None = None
    stream: bool | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    encoding_formats: list[str] | None = None
    reasoning_level: str | None = None
    output_type: str | None = None
    request_service_tier: str | None = None
    conversation_id: str | None = None
    server_address: str | None = None
    server_port: int | None = None
    # response
    response_model: str | None = None
    response_id: str | None = None
    finish_reasons: list[str] | None = None
    system_fingerprint: str | None = None
    response_service_tier: str | None = None
    embedding_dimensions: int | None = None
    time_to_first_chunk: float | None = None
    usage: Usage | None = None
    # content (conventions' JSON structures), filled only when capture_content is True
    input_messages: Any = None
    system_instructions: Any = None
    output_messages: Any = None
    tool_definitions: Any = None
    # anything else a provider wants on the span (already attribute-typed values)
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    # set by start()
    capture_content: bool = False
    span: Span | None = None
    cost: pricing.Cost | None = None
    error_type: str | None = None
    _started_at: float = 0.0
    _parent_span_id: int | None = None
    _start_request: tuple[Any, ...] = _NO_REQUEST  # request fields as written at start
    _start_prompt: tuple[Any, Any] = (None, None)  # prompt name and version written at start
    _token: object | None = None
    _done: bool = False

    @property
    def span_name(self) -> str:
        return f"{self.operation} {self.request_model}" if self.request_model else self.operation

    @property
    def is_recording(self) -> bool:
        return self.span is not None and self.span.is_recording()

    def start(self, *, check_budget: bool = True, context: Context | None = None) -> bool:
        """Open the CLIENT span. False (and no span) when tracing is off or suppressed.

        ``check_budget`` raises ``BudgetExceeded`` from a spent raising budget: the
        one exception llmtrace raises into the app on purpose, before the call.
        ``context`` is the current context when the caller already has it at hand.
        """
        if check_budget and budgets.open_blocks:
            budgets.before_call()
        try:
            tracer = runtime.tracer()
            # One context lookup serves suppression, the parent, handed-down attributes
            # and the SDK (which would otherwise look it up again for its sampler).
            ctx = otel_context.get_current() if context is None else context
            if tracer is None or ctx.get(_SUPPRESS_KEY):
                self._done = True
                return False
            self.capture_content = runtime.capture_content
            self._started_at = time.perf_counter()
            parent = trace.get_current_span(ctx).get_span_context()
            # Only a sampled parent ever ends recording, and so collects its roll-up entry.
            sampled = parent.is_valid and parent.trace_flags.sampled
            self._parent_span_id = parent.span_id if sampled else None
            self.span = tracer.start_span(self.span_name, ctx, _CLIENT, self._start_attributes(ctx))
            return True
        except Exception as exc:  # noqa: BLE001 - swallow() is the never-raise guard
            swallow(exc)
        self._done = True
        return False

    def attach(self) -> None:
        """Make the span current (so e.g. HTTP client spans nest under it)."""
        if self.span is not None and self._token is None:
            self._token = otel_context.attach(trace.set_span_in_context(self.span))

    def detach(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            otel_context.detach(token)  # type: ignore[arg-type]

    def mark_first_chunk(self) -> None:
        if self.time_to_first_chunk is None and self._started_at:
            self.time_to_first_chunk = time.perf_counter() - self._started_at

    def stop(self) -> None:
        """Finish successfully: cost, attributes, metrics, roll-up, end. Idempotent."""
        self._finish(None)

    def fail(self, exception: BaseException) -> None:
        """Finish with an error: recorded on the span with ERROR status. Idempotent."""
        self._finish(exception)

    def _finish(self, exception: BaseException | None) -> None:
        if self._token is not None:
            self.detach()
        if self._done:
            return
        self._done = True
        span = self.span
        if span is None:
            return
        duration = time.perf_counter() - self._started_at
        # Separate guards (``except Exception: swallow`` is the cheap form of
        # ``internal_errors``): a bug in one step costs that step's data, not the others'.
        # Priced even when sampled out: budgets, the cost metric and roll-ups count it.
        self._price()
        try:
            if exception is not None:
                self.error_type = self.error_type or type(exception).__qualname__
            if span.is_recording():
                span.set_attributes(self.end_attributes())
        except Exception as exc:  # noqa: BLE001 - swallow() is the never-raise guard
            swallow(exc)
        if exception is not None:
            with internal_errors:
                record_error(span, exception)
        self._account(duration)
        span.end()

    def _price(self) -> None:
        usage = self.usage
        if usage is None or self.cost is not None:
            return
        try:
            self.cost = pricing.cost_for(
                self.provider,
                self.response_model or self.request_model,
                usage,
                service_tier=self.response_service_tier or self.request_service_tier,
            )
        except Exception as exc:  # noqa: BLE001 - swallow() is the never-raise guard
            swallow(exc)

    def _account(self, duration: float) -> None:
        usage = self.usage
        cost = self.cost.total if self.cost is not None else None
        if self._parent_span_id:  # only a recording parent collects roll-ups
            try:
                _rollup.add_llm_call(
                    self._parent_span_id,
                    usage.input_tokens if usage else None,
                    usage.output_tokens if usage else None,
                    cost,
                )
            except Exception as exc:  # noqa: BLE001 - swallow() is the never-raise guard
                swallow(exc)
        if cost is not None and budgets.open_blocks:
            try:
                budgets.charge(cost)
            except Exception as exc:  # noqa: BLE001 - swallow() is the never-raise guard
                swallow(exc)
        try:
            metrics.record(self, duration)
        except Exception as exc:  # noqa: BLE001 - swallow() is the never-raise guard
            swallow(exc)

    # -- attribute mapping ------------------------------------------------------------
    def _start_attributes(self, ctx: Context) -> dict[str, AttributeValue]:
        attributes: dict[str, AttributeValue] = {
            semconv.GEN_AI_OPERATION_NAME: self.operation,
            semconv.GEN_AI_PROVIDER_NAME: self.provider,
        }
        # Loops rather than comprehensions: on Python 3.11 each comprehension is one
        # more function call, and these run on every LLM call.
        self._start_request = values = _read_request(self)
        for key, value in zip(_REQUEST_ATTRIBUTES, values, strict=False):
            if value is not None:
                attributes[key] = value
        if runtime.model_version is not None:
            attributes[semconv.LLMTRACE_MODEL_VERSION] = runtime.model_version
        prompt = prompts.prompt_attributes()
        if prompt:
            attributes.update(prompt)
        handed_down = ctx.get(LLM_SPAN_ATTRIBUTES_KEY)
        if handed_down is not None and isinstance(handed_down, Mapping):
            attributes.update(handed_down)
            prompt = attributes
        if prompt:
            self._start_prompt = (prompt.get(_PROMPT_NAME), prompt.get(_PROMPT_VERSION))
        return attributes

    def recorded_prompt(self) -> tuple[Any, Any]:
        """The prompt name and version the span carries (from start, or set since)."""
        name, version = self._start_prompt
        extra = self.attributes
        if extra:
            name = extra.get(_PROMPT_NAME, name)
            version = extra.get(_PROMPT_VERSION, version)
        return name, version

    def end_attributes(self) -> dict[str, AttributeValue]:
        """Everything learned after start, mapped to attribute keys; ``None`` dropped."""
        attributes: dict[str, AttributeValue] = {}
        for key, value in zip(_RESPONSE_ATTRIBUTES, _read_response(self), strict=False):
            if value is not None:
                attributes[key] = value
        # Request fields may be completed after start (e.g. by a stream wrapper); those
        # written at start with the same value are not written again.
        request, before = _read_request(self), self._start_request
        if request != before:
            for key, value, old in zip(_REQUEST_ATTRIBUTES, request, before, strict=False):
                if value is not None and value != old:
                    attributes[key] = value
        usage = self.usage
        if usage is not None:
            for key, value in zip(_USAGE_ATTRIBUTES, _read_usage(usage), strict=False):
                if value is not None:
                    attributes[key] = value
            if usage.cache_creation_input_tokens is not None and _semconv_compat.previous_names:
                attributes[semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] = (
                    usage.cache_creation_input_tokens
                )
            if usage.estimated:
                attributes[semconv.LLMTRACE_USAGE_ESTIMATED] = True
            cost = self.cost
            if cost is not None:
                attributes[semconv.GEN_AI_USAGE_COST_AMOUNT] = round(cost.total, 10)
                attributes[semconv.GEN_AI_USAGE_COST_CURRENCY] = cost.currency
                attributes[semconv.GEN_AI_USAGE_COST_SOURCE] = "local"
                attributes[semconv.LLMTRACE_COST_INPUT] = round(cost.input, 10)
                attributes[semconv.LLMTRACE_COST_OUTPUT] = round(cost.output, 10)
                attributes[semconv.LLMTRACE_COST_PRICE_SOURCE] = cost.source
            elif self.response_model or self.request_model:
                attributes[semconv.LLMTRACE_COST_UNKNOWN_MODEL] = True
        if self.error_type is not None:
            attributes[semconv.ERROR_TYPE] = self.error_type
        if self.capture_content:
            self._put_content(attributes)
        attributes.update(self.attributes)
        return attributes

    def _put_content(self, attributes: dict[str, AttributeValue]) -> None:
        limit = runtime.max_attribute_bytes
        for name, key in _CONTENT_KEYS:
            value = getattr(self, name)
            if value is None:
                continue
            with internal_errors:
                keep, value = redacted(value)
                if keep:
                    attributes[key] = to_json(value, limit)
