"""llmtrace: OpenTelemetry tracing for LLM applications.

    import llmtrace

    llmtrace.init(service_name="support-bot")      # OTLP if configured, else a terminal tree

    @llmtrace.trace(kind="workflow")
    def answer(question: str) -> str: ...

Importing llmtrace installs nothing and imports no LLM library; ``init()``
does the setup. Every public name is imported from its private module on first
use, so ``import llmtrace`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module as _import_module
from typing import TYPE_CHECKING, Any

from ._runtime import VERSION

__version__ = VERSION

# The public surface: name -> the private module that defines it. This one table drives
# the lazy exports and ``__all__``; tests/test_public_api.py holds the TYPE_CHECKING
# imports below (for type checkers) equal to it.
_EXPORTS: dict[str, str] = {
    "BudgetExceeded": "._genai.budgets",
    "ConfigurationError": "._errors",
    "ContextThreadPoolExecutor": "._context",
    "LLMCall": "._manual",
    "LLMTraceError": "._errors",
    "Prompt": "._prompts.prompt",
    "PromptError": "._prompts.prompt",
    "PromptTemplateError": "._prompts.prompt",
    "PromptVariableError": "._prompts.prompt",
    "SessionScope": "._context",
    "TracedSpan": "._spans",
    "Tracing": "._setup",
    "Usage": "._genai.tokens",
    "activate_prompt": "._prompts.prompt",
    "bind_context": "._context",
    "budget": "._genai.budgets",
    "choose_variant": "._prompts.prompt",
    "count_tokens": "._genai.tokens",
    "current_session": "._context",
    "current_span_context": "._evaluation",
    "estimate_usage": "._genai.tokens",
    "evaluate": ".eval",
    "force_flush": "._setup",
    "init": "._setup",
    "instrument_bedrock": ".instrumentation.bedrock",
    "instrument_anthropic": ".instrumentation.anthropic",
    "instrument_google_genai": ".instrumentation.google_genai",
    "instrument_langchain": ".instrumentation.langchain",
    "instrument_litellm": ".instrumentation.litellm",
    "instrument_mcp": ".instrumentation.mcp",
    "instrument_openai": ".instrumentation.openai",
    "instrument_openai_agents": ".instrumentation.openai_agents",
    "judge": ".eval",
    "llm_call": "._manual",
    "model_version": "._prompts.prompt",
    "normalize_usage": "._genai.tokens",
    "parse_reference": "._evaluation",
    "prompt_span_attributes": "._prompts.prompt",
    "record_score": "._evaluation",
    "session": "._context",
    "shutdown": "._setup",
    "span": "._spans",
    "trace": "._decorators",
    "trace_reference": "._evaluation",
    "uninstrument_bedrock": ".instrumentation.bedrock",
    "uninstrument_anthropic": ".instrumentation.anthropic",
    "uninstrument_google_genai": ".instrumentation.google_genai",
    "uninstrument_langchain": ".instrumentation.langchain",
    "uninstrument_litellm": ".instrumentation.litellm",
    "uninstrument_mcp": ".instrumentation.mcp",
    "uninstrument_openai": ".instrumentation.openai",
    "uninstrument_openai_agents": ".instrumentation.openai_agents",
    "use_prompt": "._prompts.prompt",
}

__all__ = sorted(["__version__", *_EXPORTS])

if TYPE_CHECKING:
    from ._context import ContextThreadPoolExecutor as ContextThreadPoolExecutor
    from ._context import SessionScope as SessionScope
    from ._context import bind_context as bind_context
    from ._context import current_session as current_session
    from ._context import session as session
    from ._decorators import trace as trace
    from ._errors import ConfigurationError as ConfigurationError
    from ._errors import LLMTraceError as LLMTraceError
    from ._evaluation import current_span_context as current_span_context
    from ._evaluation import parse_reference as parse_reference
    from ._evaluation import record_score as record_score
    from ._evaluation import trace_reference as trace_reference
    from ._genai.budgets import BudgetExceeded as BudgetExceeded
    from ._genai.budgets import budget as budget
    from ._genai.tokens import Usage as Usage
    from ._genai.tokens import count_tokens as count_tokens
    from ._genai.tokens import estimate_usage as estimate_usage
    from ._genai.tokens import normalize_usage as normalize_usage
    from ._manual import LLMCall as LLMCall
    from ._manual import llm_call as llm_call
    from ._prompts.prompt import Prompt as Prompt
    from ._prompts.prompt import PromptError as PromptError
    from ._prompts.prompt import PromptTemplateError as PromptTemplateError
    from ._prompts.prompt import PromptVariableError as PromptVariableError
    from ._prompts.prompt import activate_prompt as activate_prompt
    from ._prompts.prompt import choose_variant as choose_variant
    from ._prompts.prompt import model_version as model_version
    from ._prompts.prompt import prompt_span_attributes as prompt_span_attributes
    from ._prompts.prompt import use_prompt as use_prompt
    from ._setup import Tracing as Tracing
    from ._setup import force_flush as force_flush
    from ._setup import init as init
    from ._setup import shutdown as shutdown
    from ._spans import TracedSpan as TracedSpan
    from ._spans import span as span
    from .eval import evaluate as evaluate
    from .eval import judge as judge
    from .instrumentation.anthropic import instrument_anthropic as instrument_anthropic
    from .instrumentation.anthropic import uninstrument_anthropic as uninstrument_anthropic
    from .instrumentation.bedrock import instrument_bedrock as instrument_bedrock
    from .instrumentation.bedrock import uninstrument_bedrock as uninstrument_bedrock
    from .instrumentation.google_genai import (
        instrument_google_genai as instrument_google_genai,
    )
    from .instrumentation.google_genai import (
        uninstrument_google_genai as uninstrument_google_genai,
    )
    from .instrumentation.langchain import instrument_langchain as instrument_langchain
    from .instrumentation.langchain import uninstrument_langchain as uninstrument_langchain
    from .instrumentation.litellm import instrument_litellm as instrument_litellm
    from .instrumentation.litellm import uninstrument_litellm as uninstrument_litellm
    from .instrumentation.mcp import instrument_mcp as instrument_mcp
    from .instrumentation.mcp import uninstrument_mcp as uninstrument_mcp
    from .instrumentation.openai import instrument_openai as instrument_openai
    from .instrumentation.openai import uninstrument_openai as uninstrument_openai
    from .instrumentation.openai_agents import (
        instrument_openai_agents as instrument_openai_agents,
    )
    from .instrumentation.openai_agents import (
        uninstrument_openai_agents as uninstrument_openai_agents,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'llmtrace' has no attribute {name!r}")
    value = getattr(_import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
