"""Request phase: which endpoint a call goes to, and what its body says (pure functions).

    endpoint = endpoint_for("post", "/chat/completions")    # None: not an LLM call
    inv = invocation_for(endpoint, body, server)             # LLMInvocation, not started
    inv.start(); if inv.capture_content: add_request_content(inv, endpoint, body)

Adding an endpoint is one row in ``_ENDPOINTS`` plus, when its shapes are new,
one extractor: the wrapper around the client's request method never changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ... import semconv
from ..._genai.lifecycle import LLMInvocation
from ..._genai.messages import as_str as _str
from ..._genai.values import as_number, as_strings, as_whole_number
from ..._serialize import to_json
from . import _messages as msg
from ._providers import Server

# Endpoint kinds: which extractors read the body, the response and the stream.
CHAT = "chat"
COMPLETION = "completion"
EMBEDDINGS = "embeddings"
RESPONSES = "responses"


@dataclass(frozen=True, slots=True)
class Endpoint:
    kind: str
    operation: str


_ENDPOINTS: dict[str, Endpoint] = {
    "/chat/completions": Endpoint(CHAT, semconv.OP_CHAT),
    "/completions": Endpoint(COMPLETION, semconv.OP_TEXT_COMPLETION),
    "/embeddings": Endpoint(EMBEDDINGS, semconv.OP_EMBEDDINGS),
    "/responses": Endpoint(RESPONSES, semconv.OP_CHAT),
}
# Tool definitions counted for an estimate: at most this many bytes of their JSON.
_TOOLS_BUDGET = 65536
# Longest first, so "/chat/completions" wins over "/completions" as a suffix.
_SUFFIXES = sorted(_ENDPOINTS, key=len, reverse=True)


def endpoint_for(method: Any, url: Any) -> Endpoint | None:
    """The LLM endpoint a request goes to, or None (files, models, retrieve, ...)."""
    if not isinstance(url, str) or not isinstance(method, str) or method.lower() != "post":
        return None
    found = _ENDPOINTS.get(url)
    if found is not None:
        return found
    path = url.split("?", 1)[0].rstrip("/")
    if "/deployments/" in path:  # Azure: /deployments/{name}/chat/completions
        for suffix in _SUFFIXES:
            if path.endswith(suffix):
                return _ENDPOINTS[suffix]
    return _ENDPOINTS.get(path)


Setter = Callable[[LLMInvocation, Any], None]


def _field(name: str, convert: Callable[[Any], Any]) -> Setter:
    """A parameter copied to one record field through ``convert`` (None: not recorded)."""

    def put(inv: LLMInvocation, value: Any) -> None:
        setattr(inv, name, convert(value))

    return put


def _stream(inv: LLMInvocation, value: Any) -> None:
    inv.stream = True if value is True else None  # conventions: set if and only if streaming


def _service_tier(inv: LLMInvocation, value: Any) -> None:
    tier = _str(value)
    inv.request_service_tier = tier if tier != "auto" else None


def _max_tokens(inv: LLMInvocation, value: Any) -> None:
    if inv.max_tokens is None:  # max_completion_tokens, its newer name, wins
        inv.max_tokens = as_whole_number(value)


def _max_completion_tokens(inv: LLMInvocation, value: Any) -> None:
    count = as_whole_number(value)
    if count is not None:
        inv.max_tokens = count


def _stop(inv: LLMInvocation, value: Any) -> None:
    inv.stop_sequences = [value] if isinstance(value, str) else as_strings(value)


def _choice_count(inv: LLMInvocation, value: Any) -> None:
    if value != 1:  # conventions: only when != 1
        inv.choice_count = as_whole_number(value)


def _output_type(format_type: Any) -> str | None:
    if format_type in ("json_object", "json_schema"):
        return "json"
    return format_type if isinstance(format_type, str) else None


def _response_format(inv: LLMInvocation, value: Any) -> None:
    if isinstance(value, Mapping):
        inv.output_type = _output_type(value.get("type"))


def _text(inv: LLMInvocation, value: Any) -> None:
    if isinstance(value, Mapping) and isinstance(value.get("format"), Mapping):
        inv.output_type = _output_type(value["format"].get("type"))


def _reasoning(inv: LLMInvocation, value: Any) -> None:
    if isinstance(value, Mapping):
        inv.reasoning_level = _str(value.get("effort"))


def _previous_response_id(inv: LLMInvocation, value: Any) -> None:
    if isinstance(value, str):
        inv.attributes[semconv.GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID] = value


def _conversation(inv: LLMInvocation, value: Any) -> None:
    if isinstance(value, str):
        inv.conversation_id = value
    elif isinstance(value, Mapping):
        inv.conversation_id = _str(value.get("id"))


def _encoding_format(inv: LLMInvocation, value: Any) -> None:
    encoding = _str(value)
    inv.encoding_formats = [encoding] if encoding else None


_SAMPLING: dict[str, Setter] = {
    "temperature": _field("temperature", as_number),
    "top_p": _field("top_p", as_number),
    "stream": _stream,
    "service_tier": _service_tier,
}
_COMPLETION_PARAMETERS: dict[str, Setter] = {
    **_SAMPLING,
    "max_tokens": _max_tokens,
    "max_completion_tokens": _max_completion_tokens,
    "seed": _field("seed", as_whole_number),
    "stop": _stop,
    "n": _choice_count,
    "frequency_penalty": _field("frequency_penalty", as_number),
    "presence_penalty": _field("presence_penalty", as_number),
    "response_format": _response_format,
}
# The request parameters recorded, per endpoint kind: body key -> what records it. A
# request carries few of them, so only the keys it has are visited.
_PARAMETERS: dict[str, dict[str, Setter]] = {
    CHAT: {**_COMPLETION_PARAMETERS, "reasoning_effort": _field("reasoning_level", _str)},
    COMPLETION: _COMPLETION_PARAMETERS,
    RESPONSES: {
        **_SAMPLING,
        "max_output_tokens": _field("max_tokens", as_whole_number),
        "reasoning": _reasoning,
        "text": _text,
        "conversation": _conversation,
        "previous_response_id": _previous_response_id,
    },
    EMBEDDINGS: {"encoding_format": _encoding_format},
}
_API_TYPES = {
    CHAT: semconv.OPENAI_API_CHAT_COMPLETIONS,
    RESPONSES: semconv.OPENAI_API_RESPONSES,
}


def invocation_for(endpoint: Endpoint, body: Any, server: Server) -> LLMInvocation:
    """An unstarted ``LLMInvocation`` with everything the request body tells."""
    inv = LLMInvocation(operation=endpoint.operation, provider=server.provider)
    inv.server_address = server.address
    inv.server_port = server.port
    kind = endpoint.kind
    api_type = _API_TYPES.get(kind)
    if api_type is not None:
        inv.attributes[semconv.OPENAI_API_TYPE] = api_type
    if not msg.is_mapping(body):
        return inv
    inv.request_model = _str(body.get("model"))
    parameters = _PARAMETERS[kind]
    for key in body.keys() & parameters.keys():
        value = body[key]
        if value is not None:
            parameters[key](inv, value)
    return inv


def add_request_content(inv: LLMInvocation, endpoint: Endpoint, body: Any) -> None:
    """Input messages, system instructions and tool definitions (content capture only)."""
    if not isinstance(body, Mapping):
        return
    kind = endpoint.kind
    if kind == CHAT:
        inv.input_messages = msg.chat_input_messages(body.get("messages"))
        inv.tool_definitions = msg.tool_definitions(body.get("tools") or body.get("functions"))
    elif kind == COMPLETION:
        inv.input_messages = msg.completion_input_messages(body.get("prompt"))
    elif kind == RESPONSES:
        inv.input_messages = msg.responses_input_messages(body.get("input"))
        inv.system_instructions = msg.system_instructions(body.get("instructions"))
        inv.tool_definitions = msg.tool_definitions(body.get("tools"))


_INPUT_KEYS = {CHAT: "messages", COMPLETION: "prompt", RESPONSES: "input"}


def request_body(options: Any) -> Any:
    """The JSON body the SDK sends: ``json_data`` with ``extra_body`` merged in, as it does."""
    body = getattr(options, "json_data", None)
    extra = getattr(options, "extra_json", None)
    if extra and msg.is_mapping(extra) and msg.is_mapping(body):
        return {**body, **extra}
    return body


def estimation_input(endpoint: Endpoint, body: Any) -> Any:
    """What ``tokens.estimate_usage`` counts as the input of this request.

    Responses requests are billed for ``instructions`` and tool definitions as well as
    ``input``: they are counted as messages before it.
    """
    if not msg.is_mapping(body):
        return None
    key = _INPUT_KEYS.get(endpoint.kind)
    value = body.get(key) if key else None
    if endpoint.kind != RESPONSES:
        return value
    instructions, tools = body.get("instructions"), body.get("tools")
    if instructions is None and not tools:
        return value
    messages: list[Any] = []
    if isinstance(instructions, str):
        messages.append({"role": "system", "content": instructions})
    elif isinstance(instructions, list):
        messages.extend(instructions)
    if tools:
        messages.append({"role": "system", "content": to_json(tools, _TOOLS_BUDGET)})
    if isinstance(value, str):
        messages.append({"role": "user", "content": value})
    elif isinstance(value, list):
        messages.extend(value)
    return messages
