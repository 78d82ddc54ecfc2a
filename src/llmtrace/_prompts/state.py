"""The prompt, A/B variants and model version in effect, as LLM spans read them.

One contextvar holds an immutable ``State``; ``prompts.py`` changes it:

* ``scope(...)``: a ``with`` block (``use_prompt``, ``model_version``,
  ``activate_prompt``): set on entry, reset on exit.
* ``link(binding)`` / ``link_variant(...)``: ``Prompt.format()`` and
  ``choose_variant()``: set without reset, valid only in the trace they were made
  in (trace id 0, outside any span, is valid everywhere in that context).

``prompt_attributes()`` (read by ``LLMInvocation.start()`` on every LLM span)
costs one contextvar lookup when nothing is in effect; otherwise it returns a
mapping cached per state, trace and settings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from .. import semconv
from .._errors import logger
from .._runtime import runtime
from .._serialize import to_attribute, to_json, truncate_text
from .._spans import redacted


@dataclass(slots=True, eq=False)
class Binding:
    """A prompt in effect plus the variable values it was (or will be) formatted with."""

    name: str
    version: str
    template_hash: str
    variant: str | None
    text: str  # the template as text (chat messages as JSON), for interop only
    variables: dict[str, Any]
    version_given: bool = True  # False: the version is the content hash


_Settings = tuple[bool, bool, int, object]


@dataclass(slots=True, eq=False)
class State:
    """What is in effect in one context. Treated as immutable: changes make a new state.

    ``explicit`` comes from ``use_prompt``; ``implicit`` from ``format()`` and is
    valid only in the trace it was made in (``implicit_trace``). ``variants`` hold
    (experiment, label, trace id) from ``choose_variant``.
    """

    explicit: Binding | None = None
    implicit: Binding | None = None
    implicit_trace: int = 0
    model_version: str | None = None
    variants: tuple[tuple[str, str, int], ...] = ()
    _cache: tuple[tuple[int, _Settings], Mapping[str, AttributeValue] | None] | None = field(
        default=None, init=False
    )

    def attributes(self) -> Mapping[str, AttributeValue] | None:
        """The attributes for an LLM span started now; cached per trace and settings."""
        trace_id = _current_trace_id() if self.implicit is not None or self.variants else 0
        settings: _Settings = (
            runtime.capture_content,
            runtime.prompt_interop,
            runtime.max_attribute_bytes,
            runtime.redact,
        )
        key = (trace_id, settings)
        cached = self._cache
        if cached is not None and cached[0] == key:
            return cached[1]
        built = self._build(trace_id, settings)
        self._cache = (key, built)
        return built

    def _build(self, trace_id: int, settings: _Settings) -> Mapping[str, AttributeValue] | None:
        attributes: dict[str, AttributeValue] = {}
        if self.model_version is not None:
            attributes[semconv.LLMTRACE_MODEL_VERSION] = self.model_version
        chosen = {name: label for name, label, t in self.variants if t in (0, trace_id)}
        for name, label in chosen.items():
            attributes[semconv.LLMTRACE_VARIANT_PREFIX + name] = label
        binding = self.explicit
        if self.implicit is not None and self.implicit_trace in (0, trace_id):
            binding = self.implicit
        if binding is not None:
            variant = binding.variant or chosen.get(binding.name)
            capture, interop, limit = settings[0], settings[1], settings[2]
            attributes.update(_binding_attributes(binding, variant, capture, interop, limit))
        return MappingProxyType(attributes) if attributes else None


_STATE: ContextVar[State | None] = ContextVar("llmtrace_prompt_state", default=None)
_EMPTY = State()


def prompt_attributes() -> Mapping[str, AttributeValue] | None:
    """Attributes of the prompt, variants and model version in effect, for an LLM span."""
    state = _STATE.get()
    if state is None:
        return None
    return state.attributes()


def binding_attributes(binding: Binding) -> dict[str, AttributeValue]:
    """The prompt attributes of one binding under the current settings."""
    return _binding_attributes(
        binding,
        binding.variant,
        runtime.capture_content,
        runtime.prompt_interop,
        runtime.max_attribute_bytes,
    )


def _current_trace_id() -> int:
    return trace.get_current_span().get_span_context().trace_id


def _binding_attributes(
    binding: Binding, variant: str | None, capture: bool, interop: bool, limit: int
) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        semconv.GEN_AI_PROMPT_NAME: binding.name,
        semconv.GEN_AI_PROMPT_VERSION: binding.version,
        semconv.LLMTRACE_PROMPT_TEMPLATE_HASH: binding.template_hash,
    }
    if variant is not None:
        attributes[semconv.LLMTRACE_PROMPT_VARIANT] = variant
    values: dict[str, Any] = {}
    if capture:
        for key, raw in binding.variables.items():
            keep, value = redacted(raw)
            if keep:
                values[key] = value
                attributes[semconv.GEN_AI_PROMPT_VARIABLE_PREFIX + key] = to_attribute(value, limit)
    if interop:
        attributes[semconv.OPENINFERENCE_PROMPT_TEMPLATE_VERSION] = binding.version
        attributes[semconv.LANGFUSE_PROMPT_NAME] = binding.name
        if binding.version_given and binding.version.isdigit():  # Langfuse: int versions
            attributes[semconv.LANGFUSE_PROMPT_VERSION] = int(binding.version)
        if capture:
            attributes[semconv.OPENINFERENCE_PROMPT_TEMPLATE] = truncate_text(binding.text, limit)
            attributes[semconv.OPENINFERENCE_PROMPT_TEMPLATE_VARIABLES] = to_json(values, limit)
    return attributes


def link(binding: Binding) -> None:
    """Make ``binding`` the prompt for what follows in this context and trace (no reset)."""
    state = _STATE.get() or _EMPTY
    _STATE.set(replace(state, implicit=binding, implicit_trace=_current_trace_id()))


def link_variant(name: str, label: str, trace_id: int) -> None:
    """Record an A/B choice for what follows in this context and trace (no reset)."""
    state = _STATE.get() or _EMPTY
    # Choices from other traces are dead weight here: drop them so the tuple stays small.
    kept = tuple(v for v in state.variants if v[0] != name and v[2] in (0, trace_id))
    _STATE.set(replace(state, variants=(*kept, (name, label, trace_id))))


@contextmanager
def scope(explicit: Binding | None = None, model_version: str | None = None) -> Iterator[None]:
    """Put a prompt (replacing any earlier one) and/or a model version in effect for a block."""
    state = _STATE.get() or _EMPTY
    if explicit is not None:
        state = replace(state, explicit=explicit, implicit=None)
    if model_version is not None:
        state = replace(state, model_version=model_version)
    token = _STATE.set(state)
    try:
        yield
    finally:
        _reset(token)


def _reset(token: Token[State | None]) -> None:
    try:
        _STATE.reset(token)
    except ValueError:  # exited in another context (e.g. a generator resumed elsewhere)
        logger.debug("llmtrace: prompt scope exited in a different context than entered")
        _STATE.set(None if token.old_value is Token.MISSING else token.old_value)
