"""A burst of spans against a healthy local collector, at the default settings (#17).

    python bench/bench_burst.py                 # 50,000 spans, 3 rounds
    python bench/bench_burst.py --spans 100000 --rounds 1

The collector is a minimal OTLP/HTTP receiver in its own process (as a real one
would be), decoding and counting spans. Each round runs in a fresh interpreter:
``init(endpoint=...)`` with every other setting at its default, a tight loop of
``@trace`` calls, ``shutdown()``. Printed per round: spans ended per second, spans
sent per second while the burst lasted, their ratio (how far one export thread
falls behind the app), and spans dropped. Target: 0 dropped for 50,000 spans.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap

COLLECTOR = """
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest, ExportTraceServiceResponse,
)

count = 0
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = 404
        if self.path.endswith("/v1/traces"):
            request = ExportTraceServiceRequest.FromString(body)
            with lock:
                count += sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
            status = 200
        payload = ExportTraceServiceResponse().SerializeToString()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        payload = str(count).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

ROUND = """
import json, sys, time, urllib.request
import llmtrace

url, spans = sys.argv[1], int(sys.argv[2])
before = int(urllib.request.urlopen(url).read())
handle = llmtrace.init(endpoint=url, instrument=False, metrics=False)


@llmtrace.trace
def step(i):
    return i


started = time.perf_counter()
for i in range(spans):
    step(i)
produced = time.perf_counter() - started
llmtrace.shutdown(timeout=120)
drained = time.perf_counter() - started
received = int(urllib.request.urlopen(url).read()) - before
print(json.dumps({
    "spans": spans,
    "ended_per_s": spans / produced,
    "sent_per_s": handle.exported_spans / drained,
    "dropped": handle.dropped_spans,
    "received": received,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one round")
    args = parser.parse_args()
    if args.quick:
        args.rounds = 1
    collector = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(COLLECTOR)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert collector.stdout is not None
        url = f"http://127.0.0.1:{int(collector.stdout.readline())}"
        print(f"burst of {args.spans} spans, default settings, local OTLP/HTTP collector")
        for _ in range(args.rounds):
            out = subprocess.run(
                [sys.executable, "-c", textwrap.dedent(ROUND), url, str(args.spans)],
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            )
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"  ended {row['ended_per_s']:8.0f}/s  sent {row['sent_per_s']:8.0f}/s  "
                f"sent/ended {row['sent_per_s'] / row['ended_per_s']:.2f}  "
                f"dropped {row['dropped']}  received {row['received']}"
            )
    finally:
        collector.terminate()
        collector.wait(timeout=10)


if __name__ == "__main__":
    main()
