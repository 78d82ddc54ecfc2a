"""Tracing of the OpenAI Agents SDK (``openai-agents``, imported as ``agents``).

    import llmtrace
    llmtrace.init()                  # instruments openai-agents (and openai) when installed
    # or explicitly:
    llmtrace.instrument_openai_agents()
    result = await Runner.run(agent, "question")

Agent runs become spans under the span current when the run starts:
``invoke_workflow`` (the SDK's trace) > ``invoke_agent {name}`` > the ``chat``
span of each model call (llmtrace's ``openai`` instrumentation: one LLM span with
usage and cost per call) and ``execute_tool {tool}``; handoffs are events, guardrail
results the conventions' ``gen_ai.guardrail.result`` events. Token and cost totals
roll up into the agent and workflow spans, and ``llmtrace.budget(on_exceed="raise")``
stops a run at its next model call.

It works through the SDK's public tracing API: one ``TracingProcessor``
(``trace_processor()``) added with ``agents.add_trace_processor``. The SDK's own
export to OpenAI's backend is left as configured; ``docs/openai-agents.md`` says how
to stop it without switching the SDK's tracing (and so llmtrace's spans) off.
Also available as the ``llmtrace_openai_agents`` ``opentelemetry_instrumentor``
entry point. Requires the ``llmtrace[openai-agents]`` extra.
"""

from __future__ import annotations

from collections.abc import Collection
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from ..._genai import metrics
from ..._runtime import INSTRUMENTATION_NAME, VERSION
from .. import switch_off, switch_on
from . import _patches
from ._processor import LLMTraceProcessor, processor

__all__ = [
    "LLMTraceProcessor",
    "OpenAIAgentsInstrumentor",
    "instrument_openai_agents",
    "is_instrumented",
    "trace_processor",
    "uninstrument_openai_agents",
]

_DEPENDENCIES = ("openai-agents >= 0.20",)
_registered = False


def trace_processor() -> LLMTraceProcessor:
    """The processor llmtrace registers with the SDK (to keep it in
    ``agents.set_trace_processors([...])`` when replacing the SDK's processors)."""
    return processor


class OpenAIAgentsInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """OpenTelemetry instrumentor (entry point ``llmtrace_openai_agents``)."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _DEPENDENCIES

    def _instrument(self, **kwargs: Any) -> None:
        global _registered
        # Another top-level module named ``agents`` must not be imported for nothing.
        try:
            version("openai-agents")
        except PackageNotFoundError:
            raise ModuleNotFoundError("openai-agents is not installed") from None
        import agents

        tracer_provider, meter_provider = (
            kwargs.get("tracer_provider"),
            kwargs.get("meter_provider"),
        )
        processor.tracer = (
            tracer_provider.get_tracer(INSTRUMENTATION_NAME, VERSION) if tracer_provider else None
        )
        processor.instruments = metrics.instruments_for(meter_provider) if meter_provider else None
        _patches.install()
        processor.enabled = True
        if not _registered:
            # The SDK has no public way to remove one processor: it stays registered and
            # does nothing while uninstrumented. It never switches the SDK's tracing on.
            agents.add_trace_processor(processor)
            _registered = True

    def _uninstrument(self, **kwargs: Any) -> None:
        processor.enabled = False
        processor.tracer = processor.instruments = None
        _patches.uninstall()


def instrument_openai_agents() -> None:
    """Trace every Agents SDK run in this process (idempotent)."""
    switch_on(OpenAIAgentsInstrumentor())


def uninstrument_openai_agents() -> None:
    """Stop tracing Agents SDK runs; spans already open still end."""
    switch_off(OpenAIAgentsInstrumentor())


def is_instrumented() -> bool:
    return bool(OpenAIAgentsInstrumentor().is_instrumented_by_opentelemetry)
