"""Helpers for the Anthropic instrumentation tests: a local HTTP server on 127.0.0.1 that
speaks the Messages API's wire format (JSON bodies, SSE event streams in the order the
real API sends them), and real ``anthropic`` clients pointed at it."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "claude-sonnet-4-5"
ANSWERED_BY = "claude-sonnet-4-5-20250929"


def message(
    content: list[dict[str, Any]] | None = None,
    *,
    stop_reason: str = "end_turn",
    usage: dict[str, Any] | None = None,
    model: str = ANSWERED_BY,
) -> dict[str, Any]:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content if content is not None else [{"type": "text", "text": "Hello!"}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage
        if usage is not None
        else {
            "input_tokens": 12,
            "output_tokens": 5,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def sse(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    return b"".join(
        f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
    )


def text_stream_events(
    texts: tuple[str, ...] = ("Hel", "lo!"),
    *,
    start_usage: dict[str, Any] | None = None,
    end_usage: dict[str, Any] | None = None,
    stop_reason: str = "end_turn",
) -> list[tuple[str, dict[str, Any]]]:
    """A text reply as the API streams it: message_start, a block, message_delta, stop."""
    start = message([], stop_reason=None, usage=start_usage)  # type: ignore[arg-type]
    if start_usage is None:
        start["usage"] = {
            "input_tokens": 20,
            "output_tokens": 1,
            "cache_creation_input_tokens": 30,
            "cache_read_input_tokens": 100,
        }
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    for text in texts:
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": text},
                },
            )
        )
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": end_usage if end_usage is not None else {"output_tokens": 7},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def tool_stream_events() -> list[tuple[str, dict[str, Any]]]:
    """Thinking, then a tool_use block whose input arrives as JSON pieces."""
    start = message([], stop_reason=None)  # type: ignore[arg-type]
    start["usage"] = {"input_tokens": 50, "output_tokens": 2}
    return [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "Need the weather."},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "signature_delta", "signature": "sig"},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {},
                },
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '{"city": '},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 40},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


def error_body(kind: str, text: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": text}}


class LocalServer:
    """A small Messages API server on 127.0.0.1 answering from a script (the last repeats)."""

    def __init__(self) -> None:
        self.script: list[dict[str, Any]] = []
        self.requests: list[tuple[str, Any, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                server.requests.append((self.path, body, dict(self.headers)))
                spec = server.script.pop(0) if len(server.script) > 1 else server.script[0]
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    server.answer(self, spec)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def add(
        self,
        body: Any = None,
        *,
        status: int = 200,
        events: list[tuple[str, dict[str, Any]]] | bytes | None = None,
        truncate_after: int | None = None,
    ) -> LocalServer:
        payload = sse(events) if isinstance(events, list) else events
        self.script.append(
            {"body": body, "status": status, "events": payload, "truncate_after": truncate_after}
        )
        return self

    @staticmethod
    def answer(handler: BaseHTTPRequestHandler, spec: dict[str, Any]) -> None:
        if spec["events"] is None:
            payload = json.dumps(spec["body"]).encode()
            handler.send_response(spec["status"])
            handler.send_header("content-type", "application/json")
            handler.send_header("request-id", "req_011")
            handler.send_header("content-length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            return
        handler.send_response(spec["status"])
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()
        events = spec["events"].split(b"\n\n")[:-1]
        for i, event in enumerate(events):
            if spec["truncate_after"] is not None and i == spec["truncate_after"]:
                handler.wfile.flush()
                handler.connection.shutdown(socket.SHUT_RDWR)
                handler.close_connection = True
                return
            data = event + b"\n\n"
            handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            handler.wfile.flush()
        handler.wfile.write(b"0\r\n\r\n")

    def client(self, asynchronous: bool = False, **kwargs: Any) -> Any:
        import anthropic

        cls = anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic
        return cls(api_key="sk-ant-test", base_url=self.base_url, max_retries=0, **kwargs)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
