"""Manual LLM spans, for clients llmtrace does not instrument (HTTP APIs, local models).

    with llmtrace.llm_call(model="claude-sonnet-4-5", provider="anthropic", temperature=0) as call:
        call.set_input_messages([{"role": "user", "content": question}])
        reply = my_client.complete(question)
        call.record_response(model=reply.model, finish_reason=reply.stop, response_id=reply.id)
        call.record_usage(input_tokens=reply.usage.input, output_tokens=reply.usage.output)
        call.record_output(reply.text)

``async with`` works the same. The span, its attributes, cost, metrics,
roll-ups and budgets are exactly those of the automatic instrumentations
(all go through ``LLMInvocation``). Message content is kept on the span only
when content capture is on. When no usage is recorded but input or output
was given, the usage is estimated (``llmtrace.usage.estimated=true``). An
exception leaving the block marks the span failed and propagates unchanged;
a spent raising budget raises ``BudgetExceeded`` when the block is entered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from opentelemetry.util.types import AttributeValue

from ._cm import AsyncWithMixin, ExcType, Traceback
from ._errors import internal_errors
from ._genai.lifecycle import LLMInvocation
from ._genai.messages import role_of
from ._genai.pricing import Cost
from ._genai.tokens import Usage, as_token_count, estimate_usage, normalize_usage

# llm_call(**request_params) name -> LLMInvocation field
_REQUEST_PARAMS: dict[str, str] = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_tokens": "max_tokens",
    "max_output_tokens": "max_tokens",
    "seed": "seed",
    "stop_sequences": "stop_sequences",
    "stop": "stop_sequences",
    "choice_count": "choice_count",
    "n": "choice_count",
    "stream": "stream",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
    "encoding_formats": "encoding_formats",
    "output_type": "output_type",
    "service_tier": "request_service_tier",
    "conversation_id": "conversation_id",
    "server_address": "server_address",
    "server_port": "server_port",
}


def llm_call(
    model: str | None = None,
    *,
    provider: str,
    operation: str = "chat",
    attributes: Mapping[str, AttributeValue] | None = None,
    **request_params: Any,
) -> LLMCall:
    """A context manager that traces one LLM call made by your own code.

    ``request_params`` are the request's settings: temperature, top_p, top_k,
    max_tokens, seed, stop, n, stream, frequency_penalty, presence_penalty,
    encoding_formats, output_type, service_tier, conversation_id,
    server_address, server_port. Anything else raises ``TypeError``.
    """
    unknown = sorted(set(request_params) - set(_REQUEST_PARAMS))
    if unknown:
        allowed = ", ".join(sorted(_REQUEST_PARAMS))
        raise TypeError(f"llm_call() got unknown request parameter(s) {unknown}; known: {allowed}")
    invocation = LLMInvocation(operation=operation, provider=provider, request_model=model)
    for name, value in request_params.items():
        if name == "stop" and isinstance(value, str):
            value = [value]
        setattr(invocation, _REQUEST_PARAMS[name], value)
    if attributes:
        invocation.attributes.update(attributes)
    return LLMCall(invocation)


class LLMCall(AsyncWithMixin["LLMCall"]):
    """The handle of a manual LLM span: record what the call sent and received."""

    __slots__ = ("_input", "_output", "invocation")

    def __init__(self, invocation: LLMInvocation) -> None:
        self.invocation = invocation
        # What estimation would count if no usage is recorded (references, not copies).
        self._input: Any = None
        self._output: Any = None

    # -- recording ---------------------------------------------------------------------------
    def record_usage(
        self,
        usage: Any = None,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cached_input_tokens: int | None = None,
        cache_creation_input_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        input_audio_tokens: int | None = None,
        output_audio_tokens: int | None = None,
    ) -> None:
        """Record token counts: input includes cached tokens, output includes reasoning.

        ``usage`` may be a ``Usage`` or a provider's usage object/dict (OpenAI,
        Anthropic, LangChain shapes); keyword counts are added on top. Later calls
        update the fields they give. Values that are not whole numbers >= 0 are ignored.
        """
        with internal_errors:
            base = normalize_usage(usage) if usage is not None else None
            current = self.invocation.usage
            merged = replace(current) if current is not None else Usage()
            if base is not None:
                merged = _merge(merged, base)
            given = Usage(
                input_tokens=as_token_count(input_tokens),
                output_tokens=as_token_count(output_tokens),
                cache_read_input_tokens=as_token_count(cached_input_tokens),
                cache_creation_input_tokens=as_token_count(cache_creation_input_tokens),
                reasoning_output_tokens=as_token_count(reasoning_tokens),
                input_audio_tokens=as_token_count(input_audio_tokens),
                output_audio_tokens=as_token_count(output_audio_tokens),
            )
            merged = _merge(merged, given)
            merged.estimated = False
            if merged != Usage():
                self.invocation.usage = merged

    def record_response(
        self,
        *,
        model: str | None = None,
        finish_reason: str | None = None,
        finish_reasons: Sequence[str] | None = None,
        response_id: str | None = None,
        system_fingerprint: str | None = None,
        service_tier: str | None = None,
    ) -> None:
        """Record what the API answered: the model that answered is the one priced."""
        with internal_errors:
            inv = self.invocation
            if model:
                inv.response_model = model
            if finish_reasons is not None:
                inv.finish_reasons = [str(reason) for reason in finish_reasons]
            elif finish_reason is not None:
                inv.finish_reasons = [str(finish_reason)]
            if response_id is not None:
                inv.response_id = response_id
            if system_fingerprint is not None:
                inv.system_fingerprint = system_fingerprint
            if service_tier is not None:
                inv.response_service_tier = service_tier

    def set_input_messages(self, messages: Any, *, system_instructions: Any = None) -> None:
        """The prompt: a string, OpenAI-style or conventions-style messages, or LangChain ones."""
        with internal_errors:
            self._input = messages
            if self.invocation.capture_content:
                self.invocation.input_messages = _input_messages(messages)
                if system_instructions is not None:
                    self.invocation.system_instructions = _parts(system_instructions)

    def set_output_messages(self, messages: Any) -> None:
        """The reply as messages (conventions' output messages, or OpenAI-style)."""
        with internal_errors:
            self._output = messages
            if self.invocation.capture_content:
                self.invocation.output_messages = _output_messages(messages, None)

    def record_output(self, text: str, *, finish_reason: str | None = None) -> None:
        """The reply text (one assistant message)."""
        with internal_errors:
            self._output = text
            if finish_reason is not None and self.invocation.finish_reasons is None:
                self.invocation.finish_reasons = [finish_reason]
            if self.invocation.capture_content:
                reason = finish_reason or _first(self.invocation.finish_reasons)
                self.invocation.output_messages = _output_messages(text, reason)

    def set_tool_definitions(self, tools: Any) -> None:
        """The tools offered to the model (kept only with content capture on)."""
        with internal_errors:
            if self.invocation.capture_content:
                self.invocation.tool_definitions = tools

    def mark_first_token(self) -> None:
        """Call when the first streamed chunk arrives (time to first chunk)."""
        with internal_errors:
            self.invocation.mark_first_chunk()
            if self.invocation.stream is None:
                self.invocation.stream = True

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        with internal_errors:
            self.invocation.attributes[key] = value

    # -- reading ---------------------------------------------------------------------------
    @property
    def usage(self) -> Usage | None:
        return self.invocation.usage

    @property
    def cost(self) -> Cost | None:
        """The call's cost, known after the block ends (None when the price is unknown)."""
        return self.invocation.cost

    @property
    def is_recording(self) -> bool:
        return self.invocation.is_recording

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> LLMCall:
        if self.invocation.start():  # may raise BudgetExceeded, on purpose
            self.invocation.attach()
        return self

    def __exit__(self, exc_type: ExcType, exc: BaseException | None, tb: Traceback) -> None:
        with internal_errors:
            self._estimate()
        self._input = self._output = None
        if exc is not None:
            self.invocation.fail(exc)
        else:
            self.invocation.stop()

    def _estimate(self) -> None:
        inv = self.invocation
        if inv.span is None or inv.usage is not None:
            return
        if self._input is None and self._output is None:
            return
        prompt = self._input
        if isinstance(prompt, str) and inv.operation == "chat":
            prompt = [{"role": "user", "content": prompt}]  # a chat API wraps it in a message
        inv.usage = estimate_usage(inv.response_model or inv.request_model, prompt, self._output)


def _merge(target: Usage, source: Usage) -> Usage:
    for name in Usage.__dataclass_fields__:
        value = getattr(source, name)
        if value is not None and name != "estimated":
            setattr(target, name, value)
    return target


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _parts(content: Any) -> list[Any]:
    """Message content -> the conventions' parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if isinstance(content, Sequence):
        parts: list[Any] = []
        for part in content:
            if isinstance(part, str):
                parts.append({"type": "text", "content": part})
            elif isinstance(part, Mapping) and part.get("type") == "text" and "text" in part:
                parts.append({"type": "text", "content": part["text"]})
            else:
                parts.append(part)
        return parts
    return [content]


def _message(message: Any, default_role: str) -> Any:
    if isinstance(message, str):
        return {"role": default_role, "parts": _parts(message)}
    if isinstance(message, Mapping):
        if "parts" in message:
            return dict(message)
        role = message.get("role", default_role)
        parts = _parts(message.get("content"))
        for call in message.get("tool_calls") or ():
            function = call.get("function", {}) if isinstance(call, Mapping) else {}
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.get("id") if isinstance(call, Mapping) else None,
                    "name": function.get("name"),
                    "arguments": function.get("arguments"),
                }
            )
        if role == "tool" and "tool_call_id" in message:
            parts = [
                {
                    "type": "tool_call_response",
                    "id": message["tool_call_id"],
                    "response": message.get("content"),
                }
            ]
        return {"role": role, "parts": parts}
    role = getattr(message, "role", None) or getattr(message, "type", None) or default_role
    return {"role": role_of(role), "parts": _parts(getattr(message, "content", message))}


def _input_messages(messages: Any) -> list[Any]:
    if isinstance(messages, (str, Mapping)) or not isinstance(messages, Sequence):
        messages = [messages]
    return [_message(message, "user") for message in messages]


def _output_messages(messages: Any, finish_reason: str | None) -> list[Any]:
    if isinstance(messages, (str, Mapping)) or not isinstance(messages, Sequence):
        messages = [messages]
    converted = []
    for message in messages:
        item = _message(message, "assistant")
        if isinstance(item, dict):
            item.setdefault("finish_reason", finish_reason or "stop")
        converted.append(item)
    return converted
