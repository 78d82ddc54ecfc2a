"""Gemini contents -> the GenAI conventions' message JSON (the one converter for this format).

Pure functions over what the caller passed to ``google.genai`` (a string, a ``Part``,
a ``Content``, their dict forms, or a list of any of these) and over the SDK's
response objects; built from the core's parts (``_genai/messages.py``)::

    input_messages("Hi")      # [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]
    output_messages(response.candidates)
    finish_reason_of("STOP", True)     # "tool_call": a STOP with function calls

Inline data (images, audio, PDFs) is never copied: it becomes a ``blob`` part with a
short reference to its size. Unknown parts become ``{"type": <their kind>}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..._genai import messages as core
from ..._genai.messages import Message, OutputMessage, Part, as_list, as_str, get, is_mapping

# Part fields that are not text, in the order they are checked (a part has one of them).
_OTHER_KINDS = ("executable_code", "code_execution_result", "tool_call", "tool_response")


def enum_value(value: Any) -> Any:
    """An SDK enum member's value (``FinishReason.STOP`` -> ``"STOP"``); others as they are."""
    inner = getattr(value, "value", None)
    return inner if isinstance(inner, str) else value


def _modality(mime_type: Any) -> str:
    if isinstance(mime_type, str):
        major = mime_type.split("/", 1)[0]
        if major in ("image", "video", "audio"):
            return major
    return "document"


def field_of(obj: Any, snake: str, camel: str) -> Any:
    """A field of an SDK object (snake_case) or of a dict (either spelling)."""
    value = get(obj, snake)
    if value is None and is_mapping(obj):
        value = obj.get(camel)
    return value


def part_of(part: Any) -> Part:
    """One Gemini part (a ``Part`` or its dict) as a conventions part."""
    if isinstance(part, str):
        return core.text_part(part)
    text = get(part, "text")
    if isinstance(text, str):
        return core.reasoning_part(text) if get(part, "thought") is True else core.text_part(text)
    call = field_of(part, "function_call", "functionCall")
    if call is not None:
        return core.tool_call_part(
            as_str(get(call, "id")), as_str(get(call, "name")), get(call, "args")
        )
    response = field_of(part, "function_response", "functionResponse")
    if response is not None:
        return core.tool_response_part(as_str(get(response, "id")), get(response, "response"))
    data = field_of(part, "inline_data", "inlineData")
    if data is not None:
        mime = as_str(field_of(data, "mime_type", "mimeType"))
        return core.blob_part(get(data, "data"), _modality(mime), mime)
    file = field_of(part, "file_data", "fileData")
    if file is not None:
        mime = as_str(field_of(file, "mime_type", "mimeType"))
        return core.uri_part(field_of(file, "file_uri", "fileUri"), _modality(mime), mime)
    if is_mapping(part) or hasattr(part, "model_fields_set"):
        for kind in _OTHER_KINDS:
            if get(part, kind) is not None:
                return core.unknown_part(kind)
        return core.unknown_part("unknown")
    return core.unknown_part(type(part).__name__)  # a PIL image, a File, ...


def _is_content(item: Any) -> bool:
    """A ``Content`` (role + parts), as opposed to a bare part."""
    return get(item, "parts") is not None or (
        get(item, "role") is not None and get(item, "text") is None
    )


def _content_message(content: Any) -> Message:
    parts = [part_of(p) for p in as_list(get(content, "parts"))]
    role = core.role_of(as_str(get(content, "role")))
    if parts and all(p.get("type") == "tool_call_response" for p in parts):
        role = "tool"  # Gemini sends function responses as the user's turn
    return core.message(role, parts)


def input_messages(contents: Any) -> list[Message]:
    """What ``contents=`` holds, as input messages: bare parts join one user message."""
    if contents is None:
        return []
    items = contents if isinstance(contents, (list, tuple)) else [contents]
    messages: list[Message] = []
    loose: list[Part] = []
    for item in items:
        if not isinstance(item, str) and _is_content(item):
            if loose:
                messages.append(core.message("user", loose))
                loose = []
            messages.append(_content_message(item))
        else:
            loose.append(part_of(item))
    if loose:
        messages.append(core.message("user", loose))
    return messages


def system_instructions(instruction: Any) -> list[Part] | None:
    """``config.system_instruction`` (a string, part(s) or a Content) as parts."""
    if instruction is None:
        return None
    if isinstance(instruction, str):
        return [core.text_part(instruction)]
    return [part for m in input_messages(instruction) for part in m["parts"]] or None


def call_names(candidate: Any) -> list[str]:
    """Names of the functions one candidate asks to call ("" for a nameless call)."""
    parts = get(get(candidate, "content"), "parts")
    if not parts:
        return []
    names = []
    for part in as_list(parts):
        call = field_of(part, "function_call", "functionCall")
        if call is not None:
            name = get(call, "name")
            names.append(name if isinstance(name, str) else "")
    return names


def finish_reason_of(raw: Any, function_calls: bool) -> str:
    """The conventions' value; a STOP that carries function calls is a ``tool_call``."""
    reason = core.finish_reason(enum_value(raw))
    return "tool_call" if function_calls and reason == "stop" else reason


def output_messages(candidates: Any) -> list[OutputMessage]:
    out = []
    for candidate in as_list(candidates):
        content = get(candidate, "content")
        parts = [part_of(p) for p in as_list(get(content, "parts"))]
        reason = field_of(candidate, "finish_reason", "finishReason")
        out.append(
            core.output_message(parts, finish_reason_of(reason, bool(call_names(candidate))))
        )
    return out


def _plain(value: Any) -> Any:
    """An SDK model (a ``Schema``) as JSON data without its unset fields."""
    dump = getattr(value, "model_dump", None)
    return dump(exclude_none=True, mode="json") if callable(dump) else value


def _callable_definition(tool: Callable[..., Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "function", "name": getattr(tool, "__name__", "function")}
    doc = getattr(tool, "__doc__", None)
    if isinstance(doc, str) and doc.strip():
        entry["description"] = doc.strip()
    return entry


def tool_definitions(tools: Any) -> list[dict[str, Any]] | None:
    """``config.tools``: function declarations, Python functions (automatic function
    calling) and built-in tools (``{"type": "google_search"}``, ...)."""
    out: list[dict[str, Any]] = []
    for tool in as_list(tools):
        if callable(tool) and not is_mapping(tool):
            out.append(_callable_definition(tool))
            continue
        declarations = field_of(tool, "function_declarations", "functionDeclarations")
        for declaration in as_list(declarations):
            entry: dict[str, Any] = {"type": "function"}
            for key in ("name", "description", "parameters"):
                value = get(declaration, key)
                if value is not None:
                    entry[key] = _plain(value)
            if "parameters" not in entry:
                schema = field_of(declaration, "parameters_json_schema", "parametersJsonSchema")
                if schema is not None:
                    entry["parameters"] = _plain(schema)
            out.append(entry)
        fields = tool.items() if is_mapping(tool) else getattr(tool, "__dict__", {}).items()
        for name, value in fields:
            if value is not None and name not in ("function_declarations", "functionDeclarations"):
                out.append({"type": name})
    return out or None
