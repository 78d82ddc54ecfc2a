"""What the google-genai instrumentation costs per call and per streamed response.

    python bench/bench_google_genai.py [--quick]

The real ``google.genai`` client calls ``models.generate_content`` (and
``generate_content_stream`` over 20 chunks, fully read) over an in-process
``httpx2.MockTransport`` answering a realistic response with usage. Variants,
interleaved in one process (``_harness.compare``, thread CPU time):

- ``bare``: the same patched client inside ``suppress_instrumentation()``: the
  wrapper's first line passes straight through (about 1 µs, measured in
  docs/performance.md), so re-patching between samples is not needed;
- ``llmtrace``: one CLIENT span per call with every attribute, usage and cost,
  exported through ``SimpleSpanProcessor`` to a counting no-op exporter.

Printed: µs per call and the ratio to ``bare``. The SDK itself spends most of a
call converting the request and response (pydantic), so the ratio is small;
the µs difference is what llmtrace adds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx2
from _harness import compare, rounds_for
from google import genai
from google.genai import types
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from llmtrace._runtime import runtime
from llmtrace.instrumentation.google_genai import instrument_google_genai

MODEL = "gemini-2.5-flash"
CHUNKS = 20


def _response(text: str, finish: str | None, usage: dict[str, int]) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": MODEL,
        "responseId": "bench-1",
    }


BODY = json.dumps(
    _response(
        "Hello! How can I help you today?",
        "STOP",
        {"promptTokenCount": 9, "candidatesTokenCount": 9},
    )
).encode()


def _sse(i: int) -> bytes:
    usage = {"promptTokenCount": 9, "candidatesTokenCount": i + 1}
    chunk = _response(f"word{i} ", "STOP" if i == CHUNKS - 1 else None, usage)
    return f"data: {json.dumps(chunk)}\r\n\r\n".encode()


STREAM = b"".join(_sse(i) for i in range(CHUNKS))


def _answer(request: Any) -> Any:
    if "alt=sse" in str(request.url):
        return httpx2.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})
    return httpx2.Response(200, content=BODY, headers={"content-type": "application/json"})


class _Counting(SpanExporter):
    spans = 0

    def export(self, spans: Any) -> SpanExportResult:
        _Counting.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    args = parser.parse_args()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_Counting()))
    runtime.tracer_provider = provider
    runtime.reset_tracer_cache()
    instrument_google_genai()
    http = httpx2.Client(transport=httpx2.MockTransport(_answer))
    options = types.HttpOptions(base_url="http://127.0.0.1:9", httpx_client=http)
    client = genai.Client(api_key="bench", http_options=options)

    def call(n: int) -> None:
        for _ in range(n):
            client.models.generate_content(model=MODEL, contents="Hello")

    def stream(n: int) -> None:
        for _ in range(n):
            for _chunk in client.models.generate_content_stream(model=MODEL, contents="Hello"):
                pass

    def bare(loop: Any) -> Any:
        def run(n: int) -> None:
            with suppress_instrumentation():
                loop(n)

        return run

    settings = rounds_for(args.quick)
    for name, loop in (("generate_content", call), (f"stream, {CHUNKS} chunks", stream)):
        stats = compare({"bare": bare(loop), "llmtrace": loop}, "bare", **settings)
        base, ours = stats["bare"], stats["llmtrace"]
        print(
            f"{name:22} bare {base.us:8.1f} µs   llmtrace {ours.us:8.1f} µs   "
            f"+{ours.us - base.us:6.1f} µs   {ours.ratio:.3f}x "
            f"[{ours.ratio_low:.3f}-{ours.ratio_high:.3f}]"
        )
    if _Counting.spans == 0:
        print("no span was exported: the benchmark measured nothing", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
