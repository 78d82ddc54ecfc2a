"""The one converter for Anthropic Messages content -> the conventions' message parts.

    input_messages(kwargs["messages"])      # [{"role": "user", "parts": [...]}, ...]
    system_instructions(kwargs["system"])   # [{"type": "text", "content": ...}]
    tool_definitions(kwargs["tools"])       # [{"type": "function", "name", ...}]
    output_message(message.content, "end_turn")

Works on request dicts and the SDK's response models alike (``get`` reads both).
Inline media (base64 images and documents) becomes a short reference, never the
payload; unknown block types become ``{"type": <their type>}``.
"""

from __future__ import annotations

from typing import Any

from ..._genai import messages as core
from ..._genai.messages import GenericPart, Message, OutputMessage, Part, as_list, get

# Block types whose ``input`` is a tool call the model makes (client or server side).
_TOOL_CALLS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
_MODALITY = {"image": "image", "document": "document"}


def _source_part(kind: str, source: Any) -> Part:
    """An image or document block: inline data elided, URLs and file ids kept."""
    modality = _MODALITY.get(kind, "document")
    source_type = get(source, "type")
    media_type = get(source, "media_type")
    mime = media_type if isinstance(media_type, str) else None
    if source_type == "base64":
        return core.blob_part(get(source, "data"), modality, mime)
    if source_type == "url":
        return core.uri_part(get(source, "url"), modality, mime)
    if source_type == "file":
        file_id = get(source, "file_id")
        if isinstance(file_id, str):
            return {"type": "file", "modality": modality, "file_id": file_id}
    if source_type == "text" and isinstance(get(source, "data"), str):
        return core.text_part(get(source, "data"))
    return {"type": "blob" if source_type == "base64" else "uri", "modality": modality}


def _tool_result(block: Any) -> Part:
    content = get(block, "content")
    if isinstance(content, list):
        texts = [get(item, "text") for item in content]
        strings = [text for text in texts if isinstance(text, str)]
        response: Any = "".join(strings) if len(strings) == len(content) else content_parts(content)
    else:
        response = content
    part = core.tool_response_part(get(block, "tool_use_id"), response)
    if get(block, "is_error") is True:
        errored: GenericPart = {**part, "is_error": True}
        return errored
    return part


def block_part(block: Any) -> Part:
    """One content block (request or response) as a conventions' part."""
    if isinstance(block, str):
        return core.text_part(block)
    kind = get(block, "type")
    if kind == "text":
        return core.text_part(get(block, "text"))
    if kind == "thinking":
        return core.reasoning_part(get(block, "thinking"))
    if kind == "redacted_thinking":
        return {"type": "reasoning", "content": "<redacted>"}
    if kind in _TOOL_CALLS:
        part = core.tool_call_part(get(block, "id"), get(block, "name"), get(block, "input"))
        if kind != "tool_use":
            server: GenericPart = {**part, "type": "server_tool_call"}
            return server
        return part
    if kind == "tool_result":
        return _tool_result(block)
    if kind in ("image", "document"):
        return _source_part(kind, get(block, "source"))
    return core.unknown_part(kind)


def content_parts(content: Any) -> list[Part]:
    """A message's ``content``: a plain string or a list of blocks."""
    if isinstance(content, str):
        return [core.text_part(content)]
    return [block_part(block) for block in as_list(content)]


def input_messages(messages: Any) -> list[Message]:
    return [
        core.message(core.role_of(get(item, "role")), content_parts(get(item, "content")))
        for item in as_list(messages)
    ]


def system_instructions(system: Any) -> list[Part] | None:
    """``system``: a string or a list of text blocks."""
    if system is None:
        return None
    parts = content_parts(system)
    return parts or None


def tool_definitions(tools: Any) -> list[dict[str, Any]] | None:
    """Client tools (name, description, input_schema) and server tools (type, name)."""
    out = []
    for tool in as_list(tools):
        kind = get(tool, "type")
        entry: dict[str, Any] = {
            "type": kind if isinstance(kind, str) and kind != "custom" else "function"
        }
        for key, name in (("name", "name"), ("description", "description")):
            value = get(tool, key)
            if value is not None:
                entry[name] = value
        schema = get(tool, "input_schema")
        if schema is not None:
            entry["parameters"] = schema
        out.append(entry)
    return out or None


def output_message(content: Any, stop_reason: Any) -> OutputMessage:
    """The assistant's reply: its content blocks and the mapped stop reason."""
    return core.output_message(content_parts(content), core.finish_reason(stop_reason))


def tool_call_names(content: Any) -> list[str]:
    """Names of the client tools the reply asks to call."""
    names = []
    for block in as_list(content):
        if get(block, "type") == "tool_use":
            name = get(block, "name")
            if isinstance(name, str):
                names.append(name)
    return names
