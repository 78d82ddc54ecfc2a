"""Response phase: fill an ``LLMInvocation`` from a response body (pure functions).

    apply_response(inv, CHAT, completion)     # a ChatCompletion, or the JSON dict of one

Works on the SDK's pydantic objects and on plain dicts alike; a field that is
missing or of an unexpected type is skipped, so an unknown shape yields the
fields that could be read and never an exception. Output messages are built
only when ``inv.capture_content`` is on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..._genai.ending import set_tool_calls
from ..._genai.lifecycle import LLMInvocation
from ..._genai.messages import as_str as _str
from ..._genai.tokens import usage_from_openai
from . import _messages as msg
from ._messages import as_list, get, reader
from ._request import CHAT, COMPLETION, EMBEDDINGS, RESPONSES

_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}


def apply_response(inv: LLMInvocation, kind: str, data: Any) -> None:
    """Copy what ``data`` (the parsed response of a ``kind`` endpoint) tells into ``inv``."""
    if data is None or isinstance(data, (str, bytes, int, float, bool)):
        return
    read = reader(data)
    value = read("id", None)
    if value and isinstance(value, str):
        inv.response_id = value
    value = read("model", None)
    if value and isinstance(value, str):
        inv.response_model = value
    usage = usage_from_openai(read("usage", None))
    if usage is not None:
        inv.usage = usage
    if kind in (CHAT, COMPLETION):
        _apply_choices(inv, kind, read)
    elif kind == RESPONSES:
        _apply_responses(inv, data)
    elif kind == EMBEDDINGS:
        inv.embedding_dimensions = embedding_dimensions(read("data", None))


def _apply_choices(inv: LLMInvocation, kind: str, read: Callable[[str, Any], Any]) -> None:
    fingerprint, tier = read("system_fingerprint", None), read("service_tier", None)
    inv.system_fingerprint = fingerprint if isinstance(fingerprint, str) else None
    inv.response_service_tier = tier if isinstance(tier, str) else None
    choices = as_list(read("choices", None))
    reasons = []
    names: list[str] = []
    chat = kind == CHAT
    for choice in choices:
        read_choice = reader(choice)
        reason = read_choice("finish_reason", None)
        if isinstance(reason, str):
            reasons.append(reason)
        if chat and (called := tool_call_names(read_choice("message", None))):
            names += called
    inv.finish_reasons = reasons or None
    if names:
        set_tool_calls(inv, names)
    if inv.capture_content:
        inv.output_messages = (
            msg.chat_output_messages(choices) if chat else msg.completion_output_messages(choices)
        )


def tool_call_names(message: Any) -> list[str]:
    """Names of the tools a chat message asks to call."""
    read = reader(message)
    tool_calls = read("tool_calls", None)
    function_call = read("function_call", None)
    if not tool_calls and function_call is None:  # most answers: plain text
        return []
    names = []
    if tool_calls:
        for call in as_list(tool_calls):
            spec = get(call, "function") or get(call, "custom")
            name = get(spec, "name")
            if isinstance(name, str):
                names.append(name)
    if function_call is not None and isinstance(get(function_call, "name"), str):
        names.append(get(function_call, "name"))
    return names


def _apply_responses(inv: LLMInvocation, data: Any) -> None:
    inv.response_service_tier = _str(get(data, "service_tier")) or inv.response_service_tier
    conversation = get(data, "conversation")
    if inv.conversation_id is None and conversation is not None:
        inv.conversation_id = _str(get(conversation, "id"))
    output = as_list(get(data, "output"))
    names = [
        item_name
        for item in output
        if get(item, "type") in ("function_call", "custom_tool_call")
        and isinstance(item_name := get(item, "name"), str)
    ]
    set_tool_calls(inv, names)
    reason = responses_finish_reason(data, bool(names))
    inv.finish_reasons = [reason] if reason else None
    if inv.capture_content:
        inv.output_messages = msg.responses_output_messages(output, reason)


def responses_finish_reason(data: Any, has_tool_calls: bool) -> str | None:
    """Responses have a status, not a finish reason; map it onto chat's values."""
    status = get(data, "status")
    if status == "completed":
        return "tool_calls" if has_tool_calls else "stop"
    if status == "incomplete":
        reason = get(get(data, "incomplete_details"), "reason")
        if isinstance(reason, str):
            return _INCOMPLETE_REASONS.get(reason, reason)
        return "incomplete"
    if status == "failed":
        return "error"
    return status if status == "cancelled" else None


def embedding_dimensions(data: Any) -> int | None:
    """Length of the first embedding (a float list, or base64 of float32 values)."""
    items = as_list(data)
    if not items:
        return None
    vector = get(items[0], "embedding")
    if isinstance(vector, (list, tuple)):
        return len(vector)
    if isinstance(vector, str):
        padding = len(vector) - len(vector.rstrip("="))
        return (len(vector) * 3 // 4 - padding) // 4
    return None
