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

from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from opentelemetry.trace import Tracer

from ..._genai.instrumentor import Instrumentor, Target
from .. import switches
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

_registered = False


def trace_processor() -> LLMTraceProcessor:
    """The processor llmtrace registers with the SDK (to keep it in
    ``agents.set_trace_processors([...])`` when replacing the SDK's processors)."""
    return processor


class OpenAIAgentsInstrumentor(Instrumentor):
    """OpenTelemetry instrumentor (entry point ``llmtrace_openai_agents``)."""

    dependencies = ("openai-agents >= 0.20",)

    def targets(self, tracer: Tracer | None, instruments: Any) -> Iterable[Target]:
        global _registered
        # Another top-level module named ``agents`` must not be imported for nothing.
        try:
            version("openai-agents")
        except PackageNotFoundError:
            raise ModuleNotFoundError("openai-agents is not installed") from None
        import agents

        processor.tracer = tracer
        processor.instruments = instruments
        processor.enabled = True
        if not _registered:
            # The SDK has no public way to remove one processor: it stays registered and
            # does nothing while uninstrumented. It never switches the SDK's tracing on.
            agents.add_trace_processor(processor)
            _registered = True
        return _patches.targets()

    def restored(self) -> None:
        processor.enabled = False
        processor.tracer = processor.instruments = None


instrument_openai_agents, uninstrument_openai_agents, is_instrumented = switches(
    __name__, OpenAIAgentsInstrumentor, "the OpenAI Agents SDK's runs"
)
