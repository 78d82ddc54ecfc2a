"""What the Bedrock instrumentation adds per ``converse`` call, against the bare client.

    python bench/bench_bedrock.py [--quick] [--json out.json]

The real boto3 ``bedrock-runtime`` client answers ``converse`` from botocore's public
``Stubber`` (no network: the request is still validated and serialised, the stubbed
response validated), so the SDK's own cost per call is a few hundred µs and
llmtrace's wrapper shows clearly. Variants, interleaved in one process:

- ``bare``: a client created before instrumenting (never wrapped).
- ``span``: the bare client inside one hand-made CLIENT span carrying the model and the
  token usage, exported the same way: the floor any tracing pays.
- ``llmtrace``: a client created after ``BedrockInstrumentor().instrument()`` with a
  ``TracerProvider`` exporting through ``SimpleSpanProcessor`` into a no-op exporter
  (content capture off; cost computed from genai-prices, cached after the first call).

The run checks the exporter received one span per ``llmtrace`` call.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
from _harness import Row, compare, dump, rounds_for, table
from botocore.stub import Stubber
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

from llmtrace.instrumentation.bedrock import BedrockInstrumentor

MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Capital of France?"}]}]
RESPONSE = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Paris."}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 12, "outputTokens": 3, "totalTokens": 15},
    "metrics": {"latencyMs": 100},
}


class Counting(SpanExporter):
    def __init__(self) -> None:
        self.count = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.count += len(spans)
        return SpanExportResult.SUCCESS


def client() -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="secret",
    )


def loop_for(runtime: Any) -> Any:
    stubber = Stubber(runtime)
    stubber.activate()

    def run(n: int) -> None:
        for _ in range(n):
            stubber.add_response("converse", RESPONSE)
            runtime.converse(modelId=MODEL, messages=MESSAGES)

    return run


def span_loop(runtime: Any, tracer: Any) -> Any:
    stubber = Stubber(runtime)
    stubber.activate()

    def run(n: int) -> None:
        for _ in range(n):
            stubber.add_response("converse", RESPONSE)
            span = tracer.start_span(
                f"chat {MODEL}", kind=SpanKind.CLIENT, attributes={"gen_ai.request.model": MODEL}
            )
            result = runtime.converse(modelId=MODEL, messages=MESSAGES)
            usage = result["usage"]
            span.set_attributes(
                {
                    "gen_ai.usage.input_tokens": usage["inputTokens"],
                    "gen_ai.usage.output_tokens": usage["outputTokens"],
                }
            )
            span.end()

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()

    bare, bare_in_span = client(), client()  # both created before instrumenting
    exporter = Counting()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    BedrockInstrumentor().instrument(tracer_provider=provider, skip_dep_check=True)
    traced = client()
    floor = TracerProvider()
    floor.add_span_processor(SimpleSpanProcessor(Counting()))
    loops = {
        "bare": loop_for(bare),
        "span": span_loop(bare_in_span, floor.get_tracer("floor")),
        "llmtrace": loop_for(traced),
    }
    calls = {"n": 0}
    inner = loops["llmtrace"]

    def counted(n: int) -> None:
        calls["n"] += n
        inner(n)

    loops["llmtrace"] = counted
    stats = compare(loops, baseline="bare", **rounds_for(args.quick))
    BedrockInstrumentor().uninstrument()
    assert exporter.count == calls["n"], (exporter.count, calls["n"])
    rows = [
        Row("bedrock converse", name, us=stat.us, ratio=stat.ratio, baseline="bare")
        for name, stat in stats.items()
    ]
    added = stats["llmtrace"].us - stats["bare"].us
    over_floor = stats["llmtrace"].us - stats["span"].us
    rows[-1].note = f"adds {added:.1f} µs per call, {over_floor:.1f} µs more than the span floor"
    print(table(rows))
    if args.json:
        dump(rows, args.json)


if __name__ == "__main__":
    main()
