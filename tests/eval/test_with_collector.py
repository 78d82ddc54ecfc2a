"""With a collector: every case's trace, scores included, is exported over real OTLP/HTTP.

The receiver is a small OTLP/HTTP endpoint on 127.0.0.1 decoding the protobuf export
requests with OpenTelemetry's own proto classes.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

import llmtrace
from llmtrace import semconv
from tests.support.eval_server import CASES, PROMPT_TERSE, EvalServer


class Receiver:
    def __init__(self) -> None:
        self.spans: list[Any] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        receiver.spans.extend(scope.spans)
                data = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    for var in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    running = Receiver()
    try:
        yield running
    finally:
        running.close()


def attributes(span: Any) -> dict[str, Any]:
    found = {}
    for item in span.attributes:
        value = item.value
        found[item.key] = getattr(value, value.WhichOneof("value"))
    return found


def test_every_case_trace_and_its_scores_reach_the_collector(
    receiver: Receiver, server: EvalServer
) -> None:
    llmtrace.init(
        service_name="eval-e2e",
        endpoint=receiver.endpoint,
        protocol="http/protobuf",
        console=False,
        metrics=False,
        instrument=["openai"],
    )
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)

    def answer(input: str) -> str:
        reply = client.chat.completions.create(
            model="large-model", messages=PROMPT_TERSE.format(question=input)
        )
        return str(reply.choices[0].message.content)

    grade = llmtrace.judge(client, model="judge-model")
    result = llmtrace.evaluate(CASES[:5], answer, [grade], name="exported")
    assert llmtrace.force_flush(10)
    client.close()

    roots = {s.trace_id.hex(): s for s in receiver.spans if s.name == "eval exported"}
    assert set(roots) == {c.trace_id for c in result.cases}
    for case in result.cases:
        root = roots[case.trace_id]
        assert attributes(root)[semconv.LLMTRACE_EVAL_CASE_ID] == case.case_id
        (event,) = [e for e in root.events if e.name == semconv.GEN_AI_EVALUATION_RESULT_EVENT]
        event_attributes = {a.key: a.value for a in event.attributes}
        assert event_attributes[semconv.GEN_AI_EVALUATION_NAME].string_value == "judge"
        assert event_attributes[semconv.GEN_AI_EVALUATION_SCORE_VALUE].double_value == 1.0
        in_trace = [s for s in receiver.spans if s.trace_id.hex() == case.trace_id]
        chats = [s for s in in_trace if s.name.startswith("chat ")]
        assert len(chats) == 2  # the task's call and the judge's
        cost = sum(attributes(s)[semconv.GEN_AI_USAGE_COST_AMOUNT] for s in chats)
        assert case.cost_usd + case.judge_cost_usd == pytest.approx(cost, rel=1e-9)
