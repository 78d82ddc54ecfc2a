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

from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from ... import semconv
from ..._errors import internal_errors
from ..._genai.instrumentor import Target
from ..._genai.shells import Args, Kwargs, async_shell
from ._processor import processor

# (module, class, the conventions' source term)
_GUARDRAILS = (
    ("agents.guardrail", "InputGuardrail", "input"),
    ("agents.guardrail", "OutputGuardrail", "output"),
    ("agents.tool_guardrails", "ToolInputGuardrail", "tool_input"),
    ("agents.tool_guardrails", "ToolOutputGuardrail", "tool_output"),
)


def targets() -> list[Target]:
    """The guardrails' ``run`` methods and ``ToolContext.from_agent_context``."""
    found = [
        Target(module, f"{cls}.run", async_shell(_GuardrailPatch(source)))
        for module, cls, source in _GUARDRAILS
    ]
    found.append(Target("agents.tool_context", "ToolContext.from_agent_context", _tool_context))
    return found


@dataclass(frozen=True, slots=True)
class _GuardrailPatch:
    """A guardrail's ``run``: its result (or exception) as an event on the current span."""

    source: str

    def begin(self, instance: Any, args: Args, kwargs: Kwargs) -> tuple[Any, Args, Kwargs] | None:
        return (instance, args, kwargs) if processor.enabled else None

    def failed(self, guardrail: Any, exc: BaseException) -> None:
        with internal_errors:
            _guardrail_event(guardrail, self.source, None, exc)

    def finished(self, guardrail: Any, result: Any) -> Any:
        with internal_errors:
            _guardrail_event(guardrail, self.source, result, None)
        return result


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


def _tool_context(wrapped: Any, instance: Any, args: Args, kwargs: Kwargs) -> Any:
    context = wrapped(*args, **kwargs)
    if processor.enabled:
        with internal_errors:
            from agents.tracing import get_current_span

            processor.tool_call_started(get_current_span(), getattr(context, "tool_call_id", None))
    return context
