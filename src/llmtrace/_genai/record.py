"""The invocation record: what one LLM call was asked and answered, mapped to attributes.

Providers fill fields; the record maps them to the conventions' attribute keys and
drops ``None``. It is plain data: opening and ending the span, pricing, budgets,
roll-ups and metrics are the lifecycle's (``lifecycle.py``)::

    record = InvocationRecord(operation="chat", provider="openai", request_model="gpt-4o")
    record.start_attributes(model_version=None, prompt=None, handed_down=None)
    record.response_model, record.usage = "gpt-4o-2024-08-06", Usage(12, 3)
    record.end_attributes()        # response model, usage, ... under the semconv keys
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from .. import _semconv_compat, semconv
from .._errors import internal_errors
from .._serialize import to_json
from .._spans import redacted
from .pricing import Cost
from .tokens import Usage

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


def _put(attributes: dict[str, Any], keys: tuple[str, ...], values: tuple[Any, ...]) -> None:
    """Write the values that are not None under their keys (``values`` from ``_reader``)."""
    for key, value in zip(keys, values):  # noqa: B905 - one _reader made both: lengths match
        if value is not None:
            attributes[key] = value


_read_request, _REQUEST_ATTRIBUTES = _reader(_REQUEST_KEYS)
_read_response, _RESPONSE_ATTRIBUTES = _reader(_RESPONSE_KEYS)
_read_usage, _USAGE_ATTRIBUTES = _reader(_USAGE_KEYS)
_NO_REQUEST: tuple[Any, ...] = (None,) * len(_REQUEST_KEYS)
_PROMPT_NAME, _PROMPT_VERSION = semconv.GEN_AI_PROMPT_NAME, semconv.GEN_AI_PROMPT_VERSION
_PROMPT_VARIANT = semconv.LLMTRACE_PROMPT_VARIANT
_PROMPT_KEYS = frozenset({_PROMPT_NAME, _PROMPT_VERSION, _PROMPT_VARIANT})


@dataclass(eq=False, init=False)
class InvocationRecord:
    """Everything known about one LLM call. ``None`` fields are simply not written.

    A field never set reads its default from the class: creating a record sets four
    attributes, not fifty (it is created on every LLM call).
    """

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
    # The name the provider prices the call under when it is neither model name (a Bedrock
    # inference profile such as "global.anthropic.claude-...": routing changes the price).
    price_model: str | None = None
    # content (conventions' JSON structures), filled only when capture_content is True
    input_messages: Any = None
    system_instructions: Any = None
    output_messages: Any = None
    tool_definitions: Any = None
    # anything else a provider wants on the span (already attribute-typed values)
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    # outcome and settings, filled by the lifecycle
    capture_content: bool = False
    content_limit: int = 2048
    span: Span | None = None
    instruments: Any = None  # metric instruments an instrumentor was given, else llmtrace's
    cost: Cost | None = None
    error_type: str | None = None
    _start_request: tuple[Any, ...] = _NO_REQUEST  # request fields as written at start
    _start_prompt: tuple[Any, Any, Any] = (None, None, None)  # prompt name, version, variant

    def __init__(self, operation: str, provider: str, request_model: str | None = None) -> None:
        self.operation = operation
        self.provider = provider
        self.request_model = request_model
        self.attributes = {}

    @property
    def span_name(self) -> str:
        return f"{self.operation} {self.request_model}" if self.request_model else self.operation

    @property
    def priced_model(self) -> str | None:
        """The model whose price applies: the provider's price name, else the one that
        answered, else the one requested."""
        return self.price_model or self.response_model or self.request_model

    def start_attributes(
        self,
        model_version: str | None,
        prompt: Mapping[str, AttributeValue] | None,
        handed_down: Mapping[str, AttributeValue] | None,
    ) -> dict[str, AttributeValue]:
        """What the span carries from its start (samplers see these)."""
        attributes: dict[str, AttributeValue] = {
            semconv.GEN_AI_OPERATION_NAME: self.operation,
            semconv.GEN_AI_PROVIDER_NAME: self.provider,
        }
        self._start_request = values = _read_request(self)
        _put(attributes, _REQUEST_ATTRIBUTES, values)
        if model_version is not None:
            attributes[semconv.LLMTRACE_MODEL_VERSION] = model_version
        if prompt:
            attributes.update(prompt)
        if handed_down is not None:
            attributes.update(handed_down)
            prompt = attributes
        if prompt:
            self._start_prompt = (
                prompt.get(_PROMPT_NAME),
                prompt.get(_PROMPT_VERSION),
                prompt.get(_PROMPT_VARIANT),
            )
        return attributes

    def recorded_prompt(self) -> tuple[Any, Any, Any]:
        """The prompt name, version and A/B variant of the call (from start, or set since)."""
        extra = self.attributes
        if not extra or _PROMPT_KEYS.isdisjoint(extra):  # most calls
            return self._start_prompt
        name, version, variant = self._start_prompt
        return (
            extra.get(_PROMPT_NAME, name),
            extra.get(_PROMPT_VERSION, version),
            extra.get(_PROMPT_VARIANT, variant),
        )

    def end_attributes(self) -> dict[str, AttributeValue]:
        """Everything learned after start, mapped to attribute keys; ``None`` dropped."""
        attributes: dict[str, AttributeValue] = {}
        _put(attributes, _RESPONSE_ATTRIBUTES, _read_response(self))
        # Request fields may be completed after start (e.g. by a stream wrapper); those
        # written at start with the same value are not written again.
        request, before = _read_request(self), self._start_request
        if request != before:
            for key, value, old in zip(_REQUEST_ATTRIBUTES, request, before):  # noqa: B905 - as in _put
                if value is not None and value != old:
                    attributes[key] = value
        usage = self.usage
        if usage is not None:
            _put(attributes, _USAGE_ATTRIBUTES, _read_usage(usage))
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
                if cost.inferred_vendor is not None:
                    attributes[semconv.LLMTRACE_COST_INFERRED] = True
            elif self.response_model or self.request_model:
                attributes[semconv.LLMTRACE_COST_UNKNOWN_MODEL] = True
        if self.error_type is not None:
            attributes[semconv.ERROR_TYPE] = self.error_type
        if self.capture_content:
            self._put_content(attributes)
        attributes.update(self.attributes)
        return attributes

    def _put_content(self, attributes: dict[str, AttributeValue]) -> None:
        limit = self.content_limit
        for name, key in _CONTENT_KEYS:
            value = getattr(self, name)
            if value is None:
                continue
            with internal_errors:
                keep, value = redacted(value)
                if keep:
                    attributes[key] = to_json(value, limit)
