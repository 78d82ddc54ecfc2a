"""LangChain and LangGraph tracing: every run as an llmtrace span.

Either let llmtrace add its handler to every LangChain callback manager (no
change to your code):

    import llmtrace

    llmtrace.init()                     # instruments LangChain when installed
    # or: llmtrace.instrument_langchain()
    chain.invoke({"question": q})

or pass the handler yourself, for one run at a time:

    from llmtrace.langchain import LLMTraceCallbackHandler

    chain.invoke({"question": q}, config={"callbacks": [LLMTraceCallbackHandler()]})

Both produce the same spans, and using both (or instrumenting twice) never
doubles them. ``uninstrument_langchain()`` removes the patches. Requires
``langchain-core`` (the ``llmtrace[langchain]`` extra); see docs/langchain.md.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)

from .. import switches
from . import _patches
from ._handler import LLMTraceCallbackHandler

__all__ = [
    "LLMTraceCallbackHandler",
    "LangChainInstrumentor",
    "instrument_langchain",
    "is_instrumented",
    "uninstrument_langchain",
]

_DEPENDENCIES = ("langchain-core >= 0.3",)


class LangChainInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """OpenTelemetry instrumentor (entry point ``llmtrace_langchain``)."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _DEPENDENCIES

    def _instrument(self, **kwargs: Any) -> None:
        _patches.install_scopes()
        _patches.install_auto_handler(
            LLMTraceCallbackHandler(
                tracer_provider=kwargs.get("tracer_provider"),
                meter_provider=kwargs.get("meter_provider"),
            )
        )

    def _uninstrument(self, **kwargs: Any) -> None:
        _patches.uninstall_auto_handler()
        _patches.uninstall_scopes()


instrument_langchain, uninstrument_langchain, is_instrumented = switches(
    __name__, LangChainInstrumentor, "LangChain and LangGraph runs"
)
