"""Auto-instrumentation of the ``anthropic`` SDK: one CLIENT span per Messages call.

    import llmtrace
    llmtrace.init()                   # instruments anthropic when it is installed
    # or explicitly:
    from llmtrace.instrumentation.anthropic import instrument_anthropic, uninstrument_anthropic
    instrument_anthropic()            # idempotent
    ...
    uninstrument_anthropic()          # originals restored

Covers ``messages.create`` (plain, ``stream=True``, ``with_raw_response``,
``with_streaming_response``), ``messages.parse`` and the ``messages.stream()``
helper, on sync and async clients, including the Bedrock and Vertex clients.
Also available to OpenTelemetry's auto-instrumentation as the
``llmtrace_anthropic`` ``opentelemetry_instrumentor`` entry point
(``AnthropicInstrumentor``). What ends up on the spans, and what happens to the
SDK's own OpenTelemetry spans, is described in ``docs/anthropic.md``.
"""

from __future__ import annotations

from .. import switches
from ._instrumentor import AnthropicInstrumentor

__all__ = [
    "AnthropicInstrumentor",
    "instrument_anthropic",
    "is_instrumented",
    "uninstrument_anthropic",
]


instrument_anthropic, uninstrument_anthropic, is_instrumented = switches(
    __name__, AnthropicInstrumentor, "the anthropic SDK"
)
