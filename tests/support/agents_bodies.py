"""Wire-format bodies for the Agents SDK tests: what an OpenAI-compatible server sends
for the Responses API and Chat Completions, JSON and SSE, in the API's own order.

The scenario every test runs: agent "Triage" (an input guardrail) hands off to agent
"Billing", which calls the function tool ``get_balance`` and then answers. Three model
calls: handoff tool call, function tool call, final text.
"""

from __future__ import annotations

from typing import Any

from tests.support.openai_bodies import sse

MODEL = "gpt-4o-2024-08-06"
HANDOFF_CALL = ("call_handoff", "transfer_to_billing", "{}")
TOOL_CALL = ("call_balance", "get_balance", '{"account":"42"}')
ANSWER = "Your balance is $10."
RESPONSE_USAGE = {
    "input_tokens": 100,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 20,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 120,
}
CHAT_USAGE = {
    "prompt_tokens": 100,
    "completion_tokens": 20,
    "total_tokens": 120,
    "prompt_tokens_details": {"cached_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0},
}


# -- Responses API --------------------------------------------------------------------------
def function_item(call: tuple[str, str, str], status: str = "completed") -> dict[str, Any]:
    call_id, name, arguments = call
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def message_item(text: str, status: str = "completed") -> dict[str, Any]:
    return {
        "type": "message",
        "id": "msg_1",
        "status": status,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}]
        if status == "completed"
        else [],
    }


def response(output: list[dict[str, Any]], status: str = "completed") -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1741476777,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "model": MODEL,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": RESPONSE_USAGE if status == "completed" else None,
    }


def response_events(item: dict[str, Any]) -> list[dict[str, Any]]:
    """A streamed Responses answer with one output item, in the API's event order."""
    in_progress = {**item, "status": "in_progress"}
    if item["type"] == "message":
        in_progress["content"] = []
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": response([], "in_progress")},
        {"type": "response.in_progress", "response": response([], "in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": in_progress},
    ]
    if item["type"] == "function_call":
        events += [
            {
                "type": "response.function_call_arguments.delta",
                "item_id": item["id"],
                "output_index": 0,
                "delta": item["arguments"],
            },
            {
                "type": "response.function_call_arguments.done",
                "item_id": item["id"],
                "output_index": 0,
                "arguments": item["arguments"],
            },
        ]
    else:
        text = item["content"][0]["text"]
        part = {"type": "output_text", "text": "", "annotations": []}
        events += [
            {
                "type": "response.content_part.added",
                "item_id": item["id"],
                "output_index": 0,
                "content_index": 0,
                "part": part,
            },
            {
                "type": "response.output_text.delta",
                "item_id": item["id"],
                "output_index": 0,
                "content_index": 0,
                "delta": text,
                "logprobs": [],
            },
            {
                "type": "response.output_text.done",
                "item_id": item["id"],
                "output_index": 0,
                "content_index": 0,
                "text": text,
                "logprobs": [],
            },
            {
                "type": "response.content_part.done",
                "item_id": item["id"],
                "output_index": 0,
                "content_index": 0,
                "part": item["content"][0],
            },
        ]
    events += [
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": response([item])},
    ]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


RESPONSES_SCRIPT = [
    [function_item(HANDOFF_CALL)],
    [function_item(TOOL_CALL)],
    [message_item(ANSWER)],
]


# -- Chat Completions -----------------------------------------------------------------------
def chat(message: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1741569952,
        "model": MODEL,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": CHAT_USAGE,
        "system_fingerprint": "fp_1",
    }


def _tool_message(call: tuple[str, str, str]) -> dict[str, Any]:
    call_id, name, arguments = call
    return {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        ],
    }


CHAT_SCRIPT = [
    (_tool_message(HANDOFF_CALL), "tool_calls"),
    (_tool_message(TOOL_CALL), "tool_calls"),
    ({"role": "assistant", "content": ANSWER, "refusal": None}, "stop"),
]


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None) -> Any:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": MODEL,
        "system_fingerprint": "fp_1",
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        "usage": usage,
    }


def chat_chunks(message: dict[str, Any], finish_reason: str) -> list[dict[str, Any]]:
    """A streamed chat answer: role, content or tool-call deltas, finish, usage chunk."""
    chunks = [_chunk({"role": "assistant", "content": ""})]
    for index, call in enumerate(message.get("tool_calls") or []):
        head = {"index": index, "id": call["id"], "type": "function"}
        function = {"name": call["function"]["name"], "arguments": ""}
        chunks.append(_chunk({"tool_calls": [{**head, "function": function}]}))
        arguments = {"arguments": call["function"]["arguments"]}
        chunks.append(_chunk({"tool_calls": [{"index": index, "function": arguments}]}))
    if message.get("content"):
        chunks.append(_chunk({"content": message["content"]}))
    chunks.append(_chunk({}, finish_reason))
    chunks.append(_chunk(None, usage=CHAT_USAGE))
    return chunks


def script(server: Any, api: str, streamed: bool) -> None:
    """Queue the scenario's three answers on the local server."""
    if api == "responses":
        for output in RESPONSES_SCRIPT:
            if streamed:
                server.add(events=sse(response_events(output[0]), named=True, done=False))
            else:
                server.add(response(output))
    else:
        for message, finish in CHAT_SCRIPT:
            if streamed:
                server.add(events=sse(chat_chunks(message, finish)))
            else:
                server.add(chat(message, finish))
