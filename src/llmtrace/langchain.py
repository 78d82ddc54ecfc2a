"""The LangChain callback handler, for passing it explicitly:

    from llmtrace.langchain import LLMTraceCallbackHandler

    chain.invoke(inputs, config={"callbacks": [LLMTraceCallbackHandler()]})

Importing this module imports ``langchain_core`` (install ``llmtrace[langchain]``).
To trace every run without passing a handler, call ``llmtrace.instrument_langchain()``.
"""

from __future__ import annotations

from .instrumentation.langchain import LLMTraceCallbackHandler

__all__ = ["LLMTraceCallbackHandler"]
