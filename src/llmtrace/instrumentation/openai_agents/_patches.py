"""What the SDK's spans do not carry, taken from two public methods it calls.

* Guardrails: ``InputGuardrail.run`` / ``OutputGuardrail.run`` (an agent's input and
  output guardrails) and ``ToolInputGuardrail.run`` / ``ToolOutputGuardrail.run``
  (a function tool's). Each result becomes the conventions' ``gen_ai.guardrail.result``
  event, on the span current while the guardrail runs: the agent's span for agent
  guardrails, the ``execute_tool`` span for tool guardrails. As the conventions ask,
  the SDK's native result is kept (``tripwire_triggered`` / the tool guardrail's
  ``behavior``), never turned into an allow/deny verdict, and no span is made.
* Tool call ids: ``ToolContext.from_agent_context`` builds the context of each function
  tool call, inside the SDK's function span, with the model's ``tool_call_id``.

The guardrail's own exceptions pass through unchanged (recorded on the event as
``error.type``).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

import wrapt
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.util.types import AttributeValue

from ... import semconv
from ..._errors import internal_errors
from ._processor import processor

# (module, class, the conventions' source term)
_GUARDRAILS = (
    ("agents.guardrail", "InputGuardrail", "input"),
    ("agents.guardrail", "OutputGuardrail", "output"),
    ("agents.tool_guardrails", "ToolInputGuardrail", "tool_input"),
    ("agents.tool_guardrails", "ToolOutputGuardrail", "tool_output"),
)
_TOOL_CONTEXT = ("agents.tool_context", "ToolContext.from_agent_context")


def install() -> None:
    for module, cls, source in _GUARDRAILS:
        wrapt.wrap_function_wrapper(module, f"{cls}.run", _guardrail_wrapper(source))
    wrapt.wrap_function_wrapper(*_TOOL_CONTEXT, _tool_context)


def uninstall() -> None:
    for module, cls, _ in _GUARDRAILS:
        _restore(getattr(importlib.import_module(module), cls), "run")
    _restore(importlib.import_module(_TOOL_CONTEXT[0]).ToolContext, "from_agent_context")


def _restore(cls: type, name: str) -> None:
    # From the class dict: a wrapped classmethod must get its classmethod object back.
    attribute = cls.__dict__.get(name)
    if isinstance(attribute, wrapt.FunctionWrapper):
        setattr(cls, name, attribute.__wrapped__)


def _guardrail_wrapper(source: str) -> Callable[..., Awaitable[Any]]:
    async def run(
        wrapped: Callable[..., Awaitable[Any]],
        instance: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        if not is_instrumentation_enabled() or not processor.enabled:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            with internal_errors:
                _guardrail_event(instance, source, None, exc)
            raise
        with internal_errors:
            _guardrail_event(instance, source, result, None)
        return result

    return run


def _guardrail_event(guardrail: Any, source: str, result: Any, error: BaseException | None) -> None:
    span = trace.get_current_span()
    if not span.is_recording():
        return
    attributes: dict[str, AttributeValue] = {semconv.GEN_AI_GUARDRAIL_SOURCE: source}
    name = guardrail.get_name()
    if isinstance(name, str) and name:
        attributes[semconv.GEN_AI_GUARDRAIL_COMPONENT_NAME] = name
    if error is not None:
        attributes[semconv.ERROR_TYPE] = type(error).__qualname__
    else:
        # Agent guardrails: InputGuardrailResult/OutputGuardrailResult.output; tool
        # guardrails: the ToolGuardrailFunctionOutput itself.
        output = getattr(result, "output", result)
        behavior = getattr(output, "behavior", None)
        if isinstance(behavior, dict) and isinstance(behavior.get("type"), str):
            attributes[semconv.GEN_AI_GUARDRAIL_RESULT_TYPE] = "behavior"
            attributes[semconv.GEN_AI_GUARDRAIL_RESULT_VALUE] = behavior["type"]
        else:
            triggered = getattr(output, "tripwire_triggered", None)
            if isinstance(triggered, bool):
                attributes[semconv.GEN_AI_GUARDRAIL_RESULT_TYPE] = "tripwire_triggered"
                attributes[semconv.GEN_AI_GUARDRAIL_RESULT_VALUE] = str(triggered).lower()
    span.add_event(semconv.GEN_AI_GUARDRAIL_RESULT_EVENT, attributes)


def _tool_context(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    context = wrapped(*args, **kwargs)
    if processor.enabled:
        with internal_errors:
            from agents.tracing import get_current_span

            processor.tool_call_started(get_current_span(), getattr(context, "tool_call_id", None))
    return context
