"""llmtrace demo: an instrumented support bot, no API key and no collector needed.

    python examples/demo.py

A tiny OpenAI-compatible server runs on 127.0.0.1 (canned answers), and the
real ``openai`` client talks to it over the network. llmtrace traces the whole
pipeline: a workflow, a retriever using embeddings, a tool, a chat completion
linked to a versioned prompt, and a streamed answer. With no collector
configured, ``init()`` prints the trace tree when the workflow ends.

To send the same trace to Jaeger or Tempo instead, set
``OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318`` (see docs/collectors.md).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openai import OpenAI

import llmtrace

MODEL = "support-llm"  # a self-hosted model, priced below with init(prices=...)


class FakeOpenAI(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions (plain and streamed) and /v1/embeddings."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(0.02)  # a little latency, so the tree shows real durations
        if self.path.endswith("/embeddings"):
            self._json(
                {
                    "object": "list",
                    "model": "embed-small",
                    "data": [{"object": "embedding", "index": 0, "embedding": [0.1] * 8}],
                    "usage": {"prompt_tokens": 6, "total_tokens": 6},
                }
            )
        elif body.get("stream"):
            self._stream(["Your parcel ", "arrives ", "tomorrow."])
        else:
            self._json(
                {
                    "id": "chatcmpl-demo1",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": f"{MODEL}-2025-06",
                    "system_fingerprint": "fp_demo",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "Order 1042 shipped."},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49},
                }
            )

    def _json(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, pieces: list[str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        base = {"id": "chatcmpl-demo2", "object": "chat.completion.chunk", "model": MODEL}
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            choice = {
                "index": 0,
                "delta": {"content": piece},
                "finish_reason": "stop" if last else None,
            }
            self.wfile.write(f"data: {json.dumps({**base, 'choices': [choice]})}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args: object) -> None:
        return None


server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
threading.Thread(target=server.serve_forever, daemon=True).start()

llmtrace.init(
    service_name="support-bot-demo",
    prices={"models": {f"{MODEL}*": {"input": 0.50, "output": 1.50}}},  # USD per 1M tokens
)
client = OpenAI(base_url=f"http://127.0.0.1:{server.server_port}/v1", api_key="not-needed")
answer_prompt = llmtrace.Prompt("support-answer", "Context: {context}\nAnswer briefly: {question}")


@llmtrace.trace(kind="retriever")
def retrieve(question: str) -> list[str]:
    client.embeddings.create(model="embed-small", input=question)
    return ["Order 1042 left the warehouse yesterday."]


@llmtrace.trace(kind="tool")
def order_status(order_id: int) -> str:
    return "shipped"


@llmtrace.trace(kind="workflow")
def answer(question: str) -> str:
    context = " ".join(retrieve(question))
    order_status(1042)
    # The prompt's name, version and template hash go on the LLM spans in this block.
    with llmtrace.use_prompt(answer_prompt, context=context, question=question):
        reply = client.chat.completions.create(
            model=MODEL,
            messages=[
                {
                    "role": "user",
                    "content": answer_prompt.render(context=context, question=question),
                }
            ],
            temperature=0.2,
        )
    streamed = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "When will it arrive?"}],
        stream=True,
    )
    tail = "".join(chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices)
    return f"{reply.choices[0].message.content} {tail}"


with llmtrace.session(session_id="demo-session", user_id="demo-user", tags=["demo"]):
    print(answer("Where is my order 1042?"))

llmtrace.shutdown()
server.shutdown()
