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

from ._instrumentor import GoogleGenAIInstrumentor

__all__ = [
    "GoogleGenAIInstrumentor",
    "instrument_google_genai",
    "is_instrumented",
    "uninstrument_google_genai",
]


def instrument_google_genai() -> None:
    """Patch the installed google-genai SDK. Calling it again does nothing."""
    instrumentor = GoogleGenAIInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        # The package metadata check costs milliseconds; a failed patch raises anyway.
        instrumentor.instrument(skip_dep_check=True)


def uninstrument_google_genai() -> None:
    """Remove the patch, restoring the SDK's own methods. Safe when not instrumented."""
    instrumentor = GoogleGenAIInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


def is_instrumented() -> bool:
    """True while the google-genai SDK is patched by llmtrace."""
    return bool(GoogleGenAIInstrumentor().is_instrumented_by_opentelemetry)
