"""Realistic OpenAI response bodies (as the API sends them) and SSE helpers for the tests."""

from __future__ import annotations

import json
from typing import Any

USAGE = {
    "prompt_tokens": 25,
    "completion_tokens": 9,
    "total_tokens": 34,
    "prompt_tokens_details": {"cached_tokens": 8, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 2,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


def chat(
    content: str | None = "Paris is the capital of France.",
    *,
    finish_reason: str = "stop",
    message: dict[str, Any] | None = None,
    choices: list[dict[str, Any]] | None = None,
    model: str = "gpt-4o-mini-2024-07-18",
) -> dict[str, Any]:
    msg = message or {"role": "assistant", "content": content, "refusal": None, "annotations": []}
    return {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": model,
        "choices": choices
        or [{"index": 0, "message": msg, "logprobs": None, "finish_reason": finish_reason}],
        "usage": USAGE,
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306",
    }


TOOL_CALL_MESSAGE = {
    "role": "assistant",
    "content": None,
    "refusal": None,
    "tool_calls": [
        {
            "id": "call_VSPygqKTWdrhaFErNvMV18Yl",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"location":"Paris"}'},
        },
        {
            "id": "call_2nd",
            "type": "function",
            "function": {"name": "get_time", "arguments": '{"tz":"Europe/Paris"}'},
        },
    ],
}
REFUSAL_MESSAGE = {"role": "assistant", "content": None, "refusal": "I can't help with that."}
TWO_CHOICES = [
    {"index": 0, "message": {"role": "assistant", "content": "Red."}, "finish_reason": "stop"},
    {
        "index": 1,
        "message": {"role": "assistant", "content": "Blue and"},
        "finish_reason": "length",
    },
]

COMPLETION = {
    "id": "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7",
    "object": "text_completion",
    "created": 1589478378,
    "model": "gpt-3.5-turbo-instruct",
    "system_fingerprint": "fp_44709d6fcb",
    "choices": [
        {
            "text": "\n\nThis is indeed a test",
            "index": 0,
            "logprobs": None,
            "finish_reason": "length",
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}

EMBEDDINGS = {
    "object": "list",
    "data": [
        {"object": "embedding", "index": 0, "embedding": [0.0023, -0.0093, 0.0158, -0.0071]},
        {"object": "embedding", "index": 1, "embedding": [0.0121, 0.0044, -0.0012, 0.0301]},
    ],
    "model": "text-embedding-3-small",
    "usage": {"prompt_tokens": 8, "total_tokens": 8},
}

RESPONSE_USAGE = {
    "input_tokens": 36,
    "input_tokens_details": {"cached_tokens": 10},
    "output_tokens": 87,
    "output_tokens_details": {"reasoning_tokens": 64},
    "total_tokens": 123,
}


def response(
    output: list[dict[str, Any]] | None = None, status: str = "completed", **extra: Any
) -> dict[str, Any]:
    body = {
        "id": "resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41",
        "object": "response",
        "created_at": 1741476777,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "model": "gpt-4o-2024-08-06",
        "output": output
        if output is not None
        else [
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [{"type": "summary_text", "text": "Thinking about unicorns."}],
            },
            {
                "type": "message",
                "id": "msg_67ccd3acc8d48190a77525dc6de64b4104becb25c45c1d41",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "A unicorn slept.", "annotations": []}],
            },
        ],
        "parallel_tool_calls": True,
        "service_tier": "default",
        "tool_choice": "auto",
        "tools": [],
        "usage": RESPONSE_USAGE,
    }
    body.update(extra)
    return body


FUNCTION_CALL_ITEM = {
    "type": "function_call",
    "id": "fc_12345xyz",
    "call_id": "call_12345xyz",
    "name": "get_weather",
    "arguments": '{"location":"Paris, France"}',
    "status": "completed",
}


def chat_chunk(
    delta: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    *,
    index: int = 0,
    usage: dict[str, Any] | None = None,
    no_choices: bool = False,
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stream1",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_44709d6fcb",
        "service_tier": "default",
        "choices": []
        if no_choices
        else [
            {"index": index, "delta": delta or {}, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": usage,
    }


STREAM_USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 4,
    "total_tokens": 16,
    "prompt_tokens_details": {"cached_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0},
}


def chat_stream(
    words: tuple[str, ...] = ("Hello", " there", "!"),
    *,
    usage: bool = True,
    finish_reason: str = "stop",
) -> list[dict[str, Any]]:
    """The chunks of a streamed chat answer; with ``usage`` the final usage-only chunk."""
    chunks = [chat_chunk({"role": "assistant", "content": "", "refusal": None})]
    chunks += [chat_chunk({"content": w}) for w in words]
    chunks.append(chat_chunk({}, finish_reason))
    if usage:
        chunks.append(chat_chunk(usage=STREAM_USAGE, no_choices=True))
    return chunks


TOOL_STREAM = [
    chat_chunk(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_abc",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ],
        }
    ),
    chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"location":'}}]}),
    chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
    chat_chunk({}, "tool_calls"),
]


def responses_stream(text: tuple[str, ...] = ("A ", "unicorn.")) -> list[dict[str, Any]]:
    """The events of a streamed Responses answer, in the order the API sends them."""
    created = response(output=[], status="in_progress", usage=None)
    item = {
        "type": "message",
        "id": "msg_1",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    full = "".join(text)
    part = {"type": "output_text", "text": full, "annotations": []}
    done_item = {**item, "status": "completed", "content": [part]}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": created},
        {"type": "response.in_progress", "response": created},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {
            "type": "response.content_part.added",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
    ]
    for piece in text:
        events.append(
            {
                "type": "response.output_text.delta",
                "item_id": "msg_1",
                "output_index": 0,
                "content_index": 0,
                "delta": piece,
                "logprobs": [],
            }
        )
    events += [
        {
            "type": "response.output_text.done",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "text": full,
            "logprobs": [],
        },
        {
            "type": "response.content_part.done",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "part": part,
        },
        {"type": "response.output_item.done", "output_index": 0, "item": done_item},
        {"type": "response.completed", "response": response(output=[done_item])},
    ]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def sse(events: list[dict[str, Any]], *, done: bool = True, named: bool = False) -> bytes:
    """Server-sent events as the API writes them (Responses events carry ``event:`` lines)."""
    lines = []
    for event in events:
        head = f"event: {event['type']}\n" if named else ""
        lines.append(f"{head}data: {json.dumps(event)}\n\n")
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


ERROR_429 = {
    "error": {
        "message": "Rate limit reached for gpt-4o-mini",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}
ERROR_500 = {
    "error": {
        "message": "The server had an error while processing your request.",
        "type": "server_error",
        "param": None,
        "code": None,
    }
}
