"""Auto-instrumentation of LiteLLM: one LLM span per ``completion`` / ``embedding`` call.

    import llmtrace
    llmtrace.init()                   # instruments litellm when it is installed
    # or explicitly:
    from llmtrace.instrumentation.litellm import instrument_litellm, uninstrument_litellm
    instrument_litellm()              # idempotent
    import litellm
    litellm.completion(model="anthropic/claude-3-5-haiku-latest", messages=[...])
    uninstrument_litellm()            # originals restored

Patches ``litellm.completion``, ``acompletion``, ``embedding``, ``aembedding`` (so a
``from litellm import completion`` done BEFORE instrumenting keeps the unpatched
function) and the ``Router``'s methods of the same names, when LiteLLM is imported
(at once if it already is: instrumenting never imports it). Also available as the
``llmtrace_litellm`` ``opentelemetry_instrumentor`` entry point
(``LiteLLMInstrumentor``). What ends up on the spans: ``docs/litellm.md``.
"""

from __future__ import annotations

from .. import switches
from ._instrumentor import LiteLLMInstrumentor

__all__ = [
    "LiteLLMInstrumentor",
    "instrument_litellm",
    "is_instrumented",
    "uninstrument_litellm",
]


instrument_litellm, uninstrument_litellm, is_instrumented = switches(
    __name__, LiteLLMInstrumentor, "LiteLLM"
)
