"""The conventions' message model, and the pieces every provider's converter is built from.

``gen_ai.input.messages``, ``gen_ai.output.messages``, ``gen_ai.system_instructions``
and ``gen_ai.tool.definitions`` hold JSON in the shapes of the GenAI conventions'
schemas. Each source format (OpenAI chat/Responses, LangChain messages, Anthropic
Messages, Gemini contents, Bedrock Converse) has ONE converter, in its integration's
module, built from these parts::

    message("user", [text_part("Hi"), blob_part(b64, "image", "image/png")])
    output_message([text_part("Hello"), tool_call_part("c1", "lookup", '{"q": 1}')],
                   finish_reason("end_turn"))      # -> finish_reason "stop"
    role_of("human")                              # -> "user"

Inline media is never copied: a ``blob`` part's ``content`` is a short reference
such as ``"<elided base64 image/png, 3456 bytes>"``. Unknown part types become
``{"type": <their type>}`` so new API features never break extraction. The
readers (``get``, ``reader``, ``is_mapping``) read dicts from request bodies and
SDK objects alike, deciding once per type which they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Literal, TypedDict, TypeGuard

from typing_extensions import NotRequired

Modality = Literal["image", "video", "audio", "document"]


class TextPart(TypedDict):
    type: Literal["text"]
    content: str


class ReasoningPart(TypedDict):
    type: Literal["reasoning"]
    content: str


class ToolCallPart(TypedDict):
    type: Literal["tool_call"]
    id: str | None
    name: str | None
    arguments: Any


class ToolCallResponsePart(TypedDict):
    type: Literal["tool_call_response"]
    id: str | None
    response: Any


class BlobPart(TypedDict):
    type: Literal["blob"]
    modality: str
    content: str  # the elided reference, never the payload
    mime_type: NotRequired[str]


class UriPart(TypedDict):
    type: Literal["uri"]
    modality: str
    uri: NotRequired[str]
    mime_type: NotRequired[str]


class FilePart(TypedDict):
    type: Literal["file"]
    modality: str
    file_id: str
    mime_type: NotRequired[str]


# Anything else the conventions allow (refusal, server_tool_call, a provider's own type).
GenericPart = dict[str, Any]
Part = (
    TextPart
    | ReasoningPart
    | ToolCallPart
    | ToolCallResponsePart
    | BlobPart
    | UriPart
    | FilePart
    | GenericPart
)


class Message(TypedDict):
    role: str
    parts: list[Any]
    name: NotRequired[str]


class OutputMessage(Message):
    finish_reason: str


# -- roles and finish reasons, for every provider -------------------------------------------

# Every source's word for a role -> the conventions' role (user, assistant, system, tool).
ROLES: dict[str, str] = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "AIMessageChunk": "assistant",
    "model": "assistant",  # Gemini
    "system": "system",
    "developer": "system",
    "tool": "tool",
    "function": "tool",
}

# Every provider's stop reason -> the conventions' FinishReason (stop, length,
# content_filter, tool_call, error); others are kept as they are.
FINISH_REASONS: dict[str, str] = {
    # OpenAI
    "tool_calls": "tool_call",
    "function_call": "tool_call",
    # Anthropic, Bedrock Converse
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_call",
    "refusal": "content_filter",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "model_context_window_exceeded": "length",
    # Bedrock: Converse, Titan (completionReason), Cohere (finish_reason)
    "malformed_model_output": "error",
    "malformed_tool_use": "error",
    "FINISH": "stop",
    "LENGTH": "length",
    "STOP_CRITERIA_MET": "stop",
    "CONTENT_FILTERED": "content_filter",
    "COMPLETE": "stop",
    "ERROR_TOXIC": "content_filter",
    "ERROR": "error",
    # Gemini (enum names)
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
    "OTHER": "error",
    "FINISH_REASON_UNSPECIFIED": "error",
}


def role_of(raw: Any, default: str = "user") -> str:
    return ROLES.get(raw, raw) if isinstance(raw, str) and raw else default


def finish_reason(raw: Any) -> str:
    """The conventions' value; ``error`` for a choice that never finished (stream cut short)."""
    if not isinstance(raw, str):
        return "error"
    return FINISH_REASONS.get(raw, raw)


# -- parts ----------------------------------------------------------------------------------


def text_part(content: Any) -> TextPart:
    return {"type": "text", "content": content if isinstance(content, str) else str(content)}


def reasoning_part(content: Any) -> ReasoningPart:
    return {"type": "reasoning", "content": content if isinstance(content, str) else str(content)}


def parse_arguments(raw: Any) -> Any:
    """Tool-call arguments: parsed JSON when they are valid JSON, else as sent."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def tool_call_part(call_id: Any, name: Any, arguments: Any) -> ToolCallPart:
    return {
        "type": "tool_call",
        "id": call_id,
        "name": name,
        "arguments": parse_arguments(arguments),
    }


def tool_response_part(call_id: Any, response: Any) -> ToolCallResponsePart:
    return {"type": "tool_call_response", "id": call_id, "response": response}


def elided(length: int, mime_type: str | None) -> str:
    """The short reference that stands in for ``length`` characters of base64 data."""
    return f"<elided base64 {mime_type or 'data'}, {length * 3 // 4} bytes>"


def blob_part(data: Any, modality: str, mime_type: str | None) -> BlobPart:
    """Inline data (base64 text or bytes) as a reference to its size, never its payload."""
    if isinstance(data, str):
        length = len(data)
    elif isinstance(data, (bytes, bytearray)):
        length = len(data) * 4 // 3  # raw bytes: as long as their base64 would be
    else:
        length = 0
    part: BlobPart = {"type": "blob", "modality": modality, "content": elided(length, mime_type)}
    if mime_type:
        part["mime_type"] = mime_type
    return part


def data_url_part(url: str, modality: str) -> BlobPart:
    """A ``data:`` URL as a blob part with a reference instead of its payload."""
    comma = url.find(",")
    header = url[5:comma] if comma > 5 else ""
    mime = header.split(";", 1)[0] or None
    payload = len(url) - comma - 1 if comma >= 0 else len(url)
    part: BlobPart = {"type": "blob", "modality": modality, "content": elided(payload, mime)}
    if mime:
        part["mime_type"] = mime
    return part


def uri_part(url: Any, modality: str, mime_type: str | None = None) -> BlobPart | UriPart:
    if not isinstance(url, str):
        return {"type": "uri", "modality": modality}
    if url.startswith("data:"):
        return data_url_part(url, modality)
    part: UriPart = {"type": "uri", "modality": modality, "uri": url}
    if mime_type:
        part["mime_type"] = mime_type
    return part


def unknown_part(kind: Any) -> GenericPart:
    return {"type": kind if isinstance(kind, str) else "unknown"}


def message(role: str, parts: list[Any], name: Any = None) -> Message:
    result: Message = {"role": role, "parts": parts}
    if isinstance(name, str):
        result["name"] = name
    return result


def output_message(parts: list[Any], reason: str, role: str = "assistant") -> OutputMessage:
    """An output message; ``reason`` is already the conventions' value (see finish_reason)."""
    return {"role": role, "parts": parts, "finish_reason": reason}


# -- reading dicts and SDK objects alike ----------------------------------------------------

# type -> is it a Mapping; the ABC isinstance check is slow and this runs per field.
_MAPPING_TYPES: dict[type, bool] = {dict: True}


def is_mapping(obj: Any) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(obj, Mapping)``, decided once per type."""
    kind = type(obj)
    mapping = _MAPPING_TYPES.get(kind)
    if mapping is None:
        if len(_MAPPING_TYPES) > 256:
            _MAPPING_TYPES.clear()
            _MAPPING_TYPES[dict] = True
        mapping = _MAPPING_TYPES[kind] = isinstance(obj, Mapping)
    return mapping


def get(obj: Any, key: str) -> Any:
    """``obj[key]`` for mappings, ``obj.key`` otherwise; None when missing."""
    mapping = _MAPPING_TYPES.get(type(obj))
    if mapping is None:
        mapping = is_mapping(obj)
    if mapping:
        return obj.get(key)
    return getattr(obj, key, None)


_NOT_PYDANTIC = object()
# (type, key) -> does the class itself define key (a property, say)? Checked once per pair.
_CLASS_ATTRIBUTES: dict[tuple[type, str], bool] = {}


def get_rare(obj: Any, key: str) -> Any:
    """``get`` for a key an SDK's models usually lack (``name`` on a response message).

    A pydantic model answers a missing attribute through its ``__getattr__``, which
    raises (about 2 µs); its declared fields and extras are read from its dicts instead.
    """
    extra: Any = getattr(obj, "__pydantic_extra__", _NOT_PYDANTIC)
    if extra is _NOT_PYDANTIC:
        return get(obj, key)
    pair = (type(obj), key)
    on_class = _CLASS_ATTRIBUTES.get(pair)
    if on_class is None:
        on_class = hasattr(pair[0], key)
        if len(_CLASS_ATTRIBUTES) < 256:
            _CLASS_ATTRIBUTES[pair] = on_class
    if on_class:
        return get(obj, key)
    value = vars(obj).get(key)
    if value is None and extra:
        value = extra.get(key)
    return value


def reader(obj: Any) -> Callable[[str, Any], Any]:
    """``get`` for several reads of one object, in C: ``read = reader(obj); read(key, None)``."""
    mapping = _MAPPING_TYPES.get(type(obj))
    if mapping is None:
        mapping = is_mapping(obj)
    if mapping:
        read: Callable[[str, Any], Any] = obj.get
        return read
    return partial(getattr, obj)


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else list(value) if isinstance(value, tuple) else []
