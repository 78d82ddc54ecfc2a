"""Auto-instrumentation of Google's ``google-genai`` SDK (Gemini API and Vertex AI).

    import llmtrace
    llmtrace.init()                   # instruments google-genai when it is installed
    # or explicitly:
    from llmtrace.instrumentation.google_genai import instrument_google_genai
    instrument_google_genai()         # idempotent
    ...
    uninstrument_google_genai()       # originals restored

Also available to OpenTelemetry's auto-instrumentation as the
``llmtrace_google_genai`` ``opentelemetry_instrumentor`` entry point
(``GoogleGenAIInstrumentor``). What ends up on the spans is described in
``docs/google-genai.md``.
"""

from __future__ import annotations

from .. import switches
from ._instrumentor import GoogleGenAIInstrumentor

__all__ = [
    "GoogleGenAIInstrumentor",
    "instrument_google_genai",
    "is_instrumented",
    "uninstrument_google_genai",
]


instrument_google_genai, uninstrument_google_genai, is_instrumented = switches(
    __name__, GoogleGenAIInstrumentor, "the google-genai SDK"
)
