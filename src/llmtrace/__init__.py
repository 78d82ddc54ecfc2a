"""llmtrace: OpenTelemetry tracing for LLM applications.

    import llmtrace

    llmtrace.init(service_name="support-bot")      # OTLP if configured, else a terminal tree

    @llmtrace.trace(kind="workflow")
    def answer(question: str) -> str: ...

Importing llmtrace installs nothing and imports no LLM library; ``init()``
does the setup. Heavier parts (configuration, instrumentations, pricing) are
imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError, LLMTraceError
from ._runtime import VERSION as __version__
from .context import ContextThreadPoolExecutor, SessionScope, bind_context, current_session, session
from .decorators import trace
from .spans import TracedSpan, span

if TYPE_CHECKING:
    from ._setup import Tracing, force_flush, init, shutdown
    from .budgets import BudgetExceeded, budget
    from .eval import evaluate, judge
    from .evaluation import current_span_context, record_score, trace_reference
    from .instrumentation.langchain import instrument_langchain, uninstrument_langchain
    from .instrumentation.openai import instrument_openai, uninstrument_openai
    from .manual import LLMCall, llm_call
    from .prompts import (
        Prompt,
        PromptError,
        PromptVariableError,
        choose_variant,
        model_version,
        use_prompt,
    )
    from .tokens import Usage

# name -> module that defines it, imported on first access.
_LAZY: dict[str, str] = {
    "BudgetExceeded": ".budgets",
    "LLMCall": ".manual",
    "Prompt": ".prompts",
    "PromptError": ".prompts",
    "PromptVariableError": ".prompts",
    "Tracing": "._setup",
    "Usage": ".tokens",
    "budget": ".budgets",
    "choose_variant": ".prompts",
    "current_span_context": ".evaluation",
    "evaluate": ".eval",
    "force_flush": "._setup",
    "init": "._setup",
    "instrument_langchain": ".instrumentation.langchain",
    "instrument_openai": ".instrumentation.openai",
    "judge": ".eval",
    "llm_call": ".manual",
    "model_version": ".prompts",
    "record_score": ".evaluation",
    "shutdown": "._setup",
    "trace_reference": ".evaluation",
    "uninstrument_langchain": ".instrumentation.langchain",
    "uninstrument_openai": ".instrumentation.openai",
    "use_prompt": ".prompts",
}

__all__ = [
    "BudgetExceeded",
    "ConfigurationError",
    "ContextThreadPoolExecutor",
    "LLMCall",
    "LLMTraceError",
    "Prompt",
    "PromptError",
    "PromptVariableError",
    "SessionScope",
    "TracedSpan",
    "Tracing",
    "Usage",
    "__version__",
    "bind_context",
    "budget",
    "choose_variant",
    "current_session",
    "current_span_context",
    "evaluate",
    "force_flush",
    "init",
    "instrument_langchain",
    "instrument_openai",
    "judge",
    "llm_call",
    "model_version",
    "record_score",
    "session",
    "shutdown",
    "span",
    "trace",
    "trace_reference",
    "uninstrument_langchain",
    "uninstrument_openai",
    "use_prompt",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmtrace' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
