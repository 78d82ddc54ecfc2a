"""Helpers for the Anthropic instrumentation tests: a local HTTP server on 127.0.0.1 that
speaks the Messages API's wire format (JSON bodies, SSE event streams in the order the
real API sends them), and real ``anthropic`` clients pointed at it."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.http_server import ScriptedServer

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


class LocalServer(ScriptedServer):
    """A small Messages API server on 127.0.0.1 answering from a script (the last repeats)."""

    json_headers = {"request-id": "req_011"}

    def record(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        self.requests.append((handler.path, json.loads(raw or b"null"), dict(handler.headers)))

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

    def client(self, asynchronous: bool = False, **kwargs: Any) -> Any:
        import anthropic

        cls = anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic
        return cls(api_key="sk-ant-test", base_url=self.base_url, max_retries=0, **kwargs)
