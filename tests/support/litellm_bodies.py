"""Wire-format bodies the local servers answer with: OpenAI chat / embeddings (JSON and
SSE chunks) and Anthropic Messages (JSON and its SSE events, in the real order)."""

from __future__ import annotations

import json
from typing import Any

USER = [{"role": "user", "content": "Say hello"}]


def chat_body(content: str = "Hello!", usage: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }
    body["usage"] = (
        {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
        if usage is None
        else usage
    )
    return body


def _chunk(choices: list[Any], usage: Any = None) -> bytes:
    data: dict[str, Any] = {
        "id": "chatcmpl-2",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": choices,
    }
    if usage is not None:
        data["usage"] = usage
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def chat_events(pieces: tuple[str, ...] = ("Hel", "lo"), usage: bool = True) -> bytes:
    """A chat stream; with ``usage``, the usage chunk (no choices) the server sends last."""
    out = _chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}}])
    for piece in pieces:
        out += _chunk([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
    out += _chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])
    if usage:
        out += _chunk([], {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12})
    return out + b"data: [DONE]\n\n"


def embedding_body() -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3, 0.4]}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }


ANTHROPIC_USAGE = {
    "input_tokens": 5,
    "output_tokens": 3,
    "cache_read_input_tokens": 100,
    "cache_creation_input_tokens": 20,
}


def anthropic_message(text: str = "Hi there") -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-haiku-20241022",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": dict(ANTHROPIC_USAGE),
    }


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def anthropic_events(pieces: tuple[str, ...] = ("Hi", " there")) -> bytes:
    start = {**anthropic_message(), "content": [], "stop_reason": None}
    start["usage"] = {**ANTHROPIC_USAGE, "output_tokens": 1}
    out = _event("message_start", {"type": "message_start", "message": start})
    out += _event(
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    )
    out += _event("ping", {"type": "ping"})
    for piece in pieces:
        out += _event(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": piece},
            },
        )
    out += _event("content_block_stop", {"type": "content_block_stop", "index": 0})
    out += _event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 3},
        },
    )
    return out + _event("message_stop", {"type": "message_stop"})
