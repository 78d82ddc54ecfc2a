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

from .. import switches
from ._instrumentor import BedrockInstrumentor

__all__ = ["BedrockInstrumentor", "instrument_bedrock", "is_instrumented", "uninstrument_bedrock"]


instrument_bedrock, uninstrument_bedrock, is_instrumented = switches(
    __name__, BedrockInstrumentor, "botocore's bedrock-runtime clients"
)
