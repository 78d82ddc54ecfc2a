"""Auto-instrumentation of AWS Bedrock through ``boto3`` / ``botocore`` (``bedrock-runtime``).

    import llmtrace
    llmtrace.init()                   # instruments bedrock when boto3/botocore is installed
    # or explicitly:
    from llmtrace.instrumentation.bedrock import instrument_bedrock, uninstrument_bedrock
    instrument_bedrock()              # idempotent; clients created from now on are traced
    client = boto3.client("bedrock-runtime")
    client.converse(modelId="us.anthropic.claude-...", messages=[...])
    uninstrument_bedrock()            # wrapped clients get their own methods back

One CLIENT span per ``converse``, ``converse_stream``, ``invoke_model`` and
``invoke_model_with_response_stream`` call. Also available to OpenTelemetry's
auto-instrumentation as the ``llmtrace_bedrock`` ``opentelemetry_instrumentor`` entry
point (``BedrockInstrumentor``). What ends up on the spans: ``docs/bedrock.md``.
"""

from __future__ import annotations

from ._instrumentor import BedrockInstrumentor

__all__ = ["BedrockInstrumentor", "instrument_bedrock", "is_instrumented", "uninstrument_bedrock"]


def instrument_bedrock() -> None:
    """Trace ``bedrock-runtime`` clients created from now on. Calling it again does nothing."""
    instrumentor = BedrockInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(skip_dep_check=True)


def uninstrument_bedrock() -> None:
    """Stop tracing: restore ``create_client`` and every wrapped client's methods."""
    instrumentor = BedrockInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


def is_instrumented() -> bool:
    """True while llmtrace wraps botocore's client creation."""
    return bool(BedrockInstrumentor().is_instrumented_by_opentelemetry)
