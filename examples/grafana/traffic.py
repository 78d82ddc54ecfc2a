"""LLM traffic for the Grafana dashboard: no API key, no collector.

    python examples/grafana/traffic.py                 # runs until Ctrl-C, serves :9464
    python examples/grafana/traffic.py --calls 50 --port 0

A tiny OpenAI-compatible server on 127.0.0.1 answers with some latency, streams,
now and then a 429 or a 500. The real ``openai`` client calls it, llmtrace
traces the calls (10% of traces sampled, every call counted in the metrics) and
serves the metrics on 0.0.0.0:<port> (``--host``) for the Prometheus of ``docker compose up``
in this directory; two variants of a versioned prompt and a budget give the
prompt, A/B and budget panels something to show.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai

import llmtrace

MODELS = ("support-llm", "support-llm-mini")
PRICES = {  # USD per 1M tokens
    "support-llm*": {"input": 2.50, "cached_input": 1.25, "output": 10.0},
    "support-llm-mini*": {"input": 0.15, "cached_input": 0.075, "output": 0.60},
}


class FakeOpenAI(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions, plain and streamed, sometimes with an error."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model = body["model"]
        time.sleep(random.uniform(0.05, 0.6) * (2 if model == MODELS[0] else 1))
        roll = random.random()
        if roll < 0.03:
            return self._json({"error": {"message": "slow down", "type": "requests"}}, 429)
        if roll < 0.05:
            return self._json({"error": {"message": "oops", "type": "server_error"}}, 500)
        usage = {
            "prompt_tokens": random.randint(200, 1200),
            "completion_tokens": random.randint(20, 300),
            "prompt_tokens_details": {"cached_tokens": random.choice((0, 128, 256))},
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if body.get("stream"):
            return self._stream(model, usage)
        message = {"role": "assistant", "content": "Your parcel arrives tomorrow."}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        self._json({"id": "c1", "object": "chat.completion", "created": 0, "model": model,
                    "choices": [choice], "usage": usage})  # fmt: skip

    def _json(self, payload: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, model: str, usage: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        base = {"id": "c2", "object": "chat.completion.chunk", "created": 0, "model": model}
        for piece in ("Your parcel ", "arrives ", "tomorrow."):
            choice = {"index": 0, "delta": {"content": piece}}
            self.wfile.write(f"data: {json.dumps({**base, 'choices': [choice]})}\n\n".encode())
            time.sleep(0.05)
        last = {**base, "choices": [], "usage": usage}
        self.wfile.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())

    def log_message(self, *args: object) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=0, help="stop after N calls (0: never)")
    parser.add_argument("--port", type=int, default=9464, help="metrics port (0: a free one)")
    parser.add_argument("--host", default="0.0.0.0", help="metrics interface (Docker: 0.0.0.0)")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handle = llmtrace.init(
        service_name="support-bot",
        exporter="none",  # this example is about metrics; traces would go to OTLP
        sample_rate=0.1,
        metrics_exporter="prometheus",
        prometheus_host=args.host,
        prometheus_port=args.port,
        prices={"models": PRICES},
    )
    print(f"serving metrics at {handle.prometheus_url}", flush=True)
    client = openai.OpenAI(
        base_url=f"http://127.0.0.1:{server.server_port}/v1", api_key="not-needed", max_retries=0
    )
    prompt = llmtrace.Prompt("support-answer", "Answer briefly: {question}", version="7")
    calls = failed = 0
    try:
        while not args.calls or calls < args.calls:
            user = f"user-{random.randint(1, 500)}"  # on traces only, never a metric label
            variant = llmtrace.choose_variant(
                "support-answer", [prompt.with_variant("brief"), prompt.with_variant("warm")],
                key=user,
            )  # fmt: skip
            try:
                with (
                    llmtrace.session(user_id=user),
                    # A per-request spending limit; overruns show on the dashboard.
                    llmtrace.budget(0.004, on_exceed=lambda spent: None, name="per-request"),
                    llmtrace.use_prompt(variant, question="Where is my parcel?"),
                ):
                    model = random.choice(MODELS)
                    messages = [{"role": "user", "content": "Where is my parcel?"}]
                    if random.random() < 0.3:
                        stream = client.chat.completions.create(
                            model=model, messages=messages, stream=True
                        )
                        "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
                    else:
                        client.chat.completions.create(model=model, messages=messages)
            except openai.APIStatusError:
                failed += 1
            calls += 1
    except KeyboardInterrupt:
        pass
    print(f"{calls} calls, {failed} failed", flush=True)
    llmtrace.shutdown()
    server.shutdown()


if __name__ == "__main__":
    main()
