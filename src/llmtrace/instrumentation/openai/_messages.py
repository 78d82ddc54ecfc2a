"""OpenAI request/response content -> the GenAI conventions' message JSON structures.

Pure functions over plain data (dicts from the request body, or the SDK's
pydantic objects), built from the core's message parts (``_genai/messages.py``);
used only with content capture on::

    chat_input_messages([{"role": "user", "content": "Hi"}])
    # [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]

Inline media (base64 images, audio, files) is never copied: it becomes a
``blob`` part whose ``content`` is a short reference such as
``"<elided base64 image/png, 3456 bytes>"``. Unknown part types become
``{"type": <their type>}`` so new API features never break extraction.
"""

from __future__ import annotations

from typing import Any

from ..._genai.messages import (
    Part,
    as_list,
    blob_part,
    data_url_part,
    elided,
    finish_reason,
    get,
    get_rare,
    is_mapping,
    parse_arguments,
    reader,
    text_part,
    uri_part,
)

__all__ = ["as_list", "elided", "get", "get_rare", "is_mapping", "reader"]

Message = dict[str, Any]
_text = text_part
_blob = blob_part
_arguments = parse_arguments
_url_part = uri_part
_data_url_part = data_url_part
output_finish_reason = finish_reason


def _file_part(file: Any) -> Part:
    file_id = get(file, "file_id")
    if isinstance(file_id, str):
        return {"type": "file", "modality": "document", "file_id": file_id}
    data = get(file, "file_data")
    if isinstance(data, str) and data.startswith("data:"):
        return _data_url_part(data, "document")
    url = get(file, "file_url")
    if isinstance(url, str):
        return _url_part(url, "document")
    return _blob(data, "document", None)


def content_part(part: Any) -> Part:
    """One content part of a chat message or a Responses input/output message."""
    if isinstance(part, str):
        return _text(part)
    kind = get(part, "type")
    if kind in ("text", "input_text", "output_text"):
        return _text(get(part, "text"))
    if kind == "refusal":
        return {"type": "refusal", "content": get(part, "refusal")}
    if kind == "image_url":
        return _url_part(get(get(part, "image_url"), "url"), "image")
    if kind == "input_image":
        if isinstance(get(part, "file_id"), str):
            return {"type": "file", "modality": "image", "file_id": get(part, "file_id")}
        return _url_part(get(part, "image_url"), "image")
    if kind == "input_audio":
        audio = get(part, "input_audio") or part
        fmt = get(audio, "format")
        return _blob(get(audio, "data"), "audio", f"audio/{fmt}" if isinstance(fmt, str) else None)
    if kind == "file":
        return _file_part(get(part, "file"))
    if kind == "input_file":
        return _file_part(part)
    return {"type": kind if isinstance(kind, str) else "unknown"}


def _parts(content: Any) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [_text(content)]
    if isinstance(content, (list, tuple)):
        return [content_part(p) for p in content]
    return [content_part(content)]


def _tool_call(call: Any) -> Part:
    function = get(call, "function")
    if function is None:  # custom tools: {"type": "custom", "custom": {"name", "input"}}
        custom = get(call, "custom")
        return {
            "type": "tool_call",
            "id": get(call, "id"),
            "name": get(custom, "name"),
            "arguments": get(custom, "input"),
        }
    return {
        "type": "tool_call",
        "id": get(call, "id"),
        "name": get(function, "name"),
        "arguments": _arguments(get(function, "arguments")),
    }


def _joined_text(content: Any) -> Any:
    if isinstance(content, (list, tuple)):
        texts = [get(p, "text") for p in content]
        if all(isinstance(t, str) for t in texts):
            return "".join(texts)
    return content


def chat_message(message: Any) -> Message:
    role = get(message, "role")
    role = role if isinstance(role, str) else "user"
    if role in ("tool", "function"):
        call_id = get(message, "tool_call_id") if role == "tool" else get(message, "name")
        response = _joined_text(get(message, "content"))
        return {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": call_id, "response": response}],
        }
    parts = _parts(get(message, "content"))
    refusal = get(message, "refusal")
    if isinstance(refusal, str):
        parts.append({"type": "refusal", "content": refusal})
    parts.extend(_tool_call(c) for c in as_list(get(message, "tool_calls")))
    function_call = get(message, "function_call")
    if function_call is not None:
        parts.append(
            {
                "type": "tool_call",
                "id": None,
                "name": get(function_call, "name"),
                "arguments": _arguments(get(function_call, "arguments")),
            }
        )
    audio = get(message, "audio")
    if audio is not None:
        transcript = get(audio, "transcript")
        if isinstance(transcript, str):
            parts.append(_text(transcript))
        data = get(audio, "data")
        if data is not None:
            parts.append(_blob(data, "audio", None))
    result: Message = {"role": role, "parts": parts}
    name = get_rare(message, "name")
    if isinstance(name, str):
        result["name"] = name
    return result


def chat_input_messages(messages: Any) -> list[Message]:
    return [chat_message(m) for m in as_list(messages)]


def chat_output_messages(choices: Any) -> list[Message]:
    out = []
    for choice in as_list(choices):
        message = chat_message(get(choice, "message") or {"role": "assistant"})
        message["finish_reason"] = output_finish_reason(get(choice, "finish_reason"))
        out.append(message)
    return out


def completion_input_messages(prompt: Any) -> list[Message]:
    prompts = (
        prompt if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt) else [prompt]
    )
    return [{"role": "user", "parts": [_text(p) for p in prompts if p is not None]}]


def completion_output_messages(choices: Any) -> list[Message]:
    return [
        {
            "role": "assistant",
            "parts": [_text(get(c, "text") or "")],
            "finish_reason": output_finish_reason(get(c, "finish_reason")),
        }
        for c in as_list(choices)
    ]


def _summary_text(item: Any) -> str:
    texts = [get(s, "text") for s in as_list(get(item, "summary"))]
    texts += [get(c, "text") for c in as_list(get(item, "content"))]
    return "".join(t for t in texts if isinstance(t, str))


def response_item_parts(item: Any) -> tuple[str, list[Part]]:
    """One Responses API item (input or output) -> (role, parts)."""
    kind = get(item, "type")
    role = get(item, "role")
    if kind in (None, "message") and isinstance(role, str):
        return role, _parts(get(item, "content"))
    if kind in ("function_call", "custom_tool_call"):
        raw = get(item, "arguments") if kind == "function_call" else get(item, "input")
        return "assistant", [
            {
                "type": "tool_call",
                "id": get(item, "call_id"),
                "name": get(item, "name"),
                "arguments": _arguments(raw),
            }
        ]
    if kind in ("function_call_output", "custom_tool_call_output"):
        return "tool", [
            {
                "type": "tool_call_response",
                "id": get(item, "call_id"),
                "response": _joined_text(get(item, "output")),
            }
        ]
    if kind == "reasoning":
        return "assistant", [{"type": "reasoning", "content": _summary_text(item)}]
    if isinstance(kind, str) and kind.endswith("_call"):
        return "assistant", [
            {
                "type": "server_tool_call",
                "id": get(item, "id"),
                "name": kind,
                "server_tool_call": {"type": kind},
            }
        ]
    return (role if isinstance(role, str) else "user"), [
        {"type": kind if isinstance(kind, str) else "unknown"}
    ]


def responses_input_messages(input_: Any) -> list[Message]:
    if isinstance(input_, str):
        return [{"role": "user", "parts": [_text(input_)]}]
    messages = []
    for item in as_list(input_):
        role, parts = response_item_parts(item)
        messages.append({"role": role, "parts": parts})
    return messages


def responses_output_messages(output: Any, finish_reason: str | None) -> list[Message]:
    parts: list[Part] = []
    for item in as_list(output):
        parts.extend(response_item_parts(item)[1])
    return [
        {
            "role": "assistant",
            "parts": parts,
            "finish_reason": output_finish_reason(finish_reason or "stop"),
        }
    ]


def system_instructions(instructions: Any) -> list[Part] | None:
    if isinstance(instructions, str):
        return [_text(instructions)]
    if isinstance(instructions, list):
        return [p for m in instructions for p in response_item_parts(m)[1]]
    return None


def tool_definitions(tools: Any) -> list[dict[str, Any]] | None:
    """Chat (``{"type", "function": {...}}``) or Responses (flat) tools, flattened."""
    out = []
    for tool in as_list(tools):
        kind = get(tool, "type")
        spec = get(tool, "function") or get(tool, "custom") or tool
        entry: dict[str, Any] = {"type": kind if isinstance(kind, str) else "function"}
        for key in ("name", "description", "parameters"):
            value = get(spec, key)
            if value is not None:
                entry[key] = value
        out.append(entry)
    return out or None
