"""Request phase: which endpoint a call goes to, and what its body says (pure functions).

    endpoint = endpoint_for("post", "/chat/completions")    # None: not an LLM call
    inv = invocation_for(endpoint, body, server)             # LLMInvocation, not started
    inv.start(); if inv.capture_content: add_request_content(inv, endpoint, body)

Adding an endpoint is one row in ``_ENDPOINTS`` plus, when its shapes are new,
one extractor: the wrapper around the client's request method never changes.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def _stop(value: Any) -> list[str] | None:
    """``stop``: one string or a list of them."""
    return [value] if isinstance(value, str) else as_strings(value)


def _output_type(format_type: Any) -> str | None:
    if format_type in ("json_object", "json_schema"):
        return "json"
    return format_type if isinstance(format_type, str) else None


def _conversation_id(body: Mapping[str, Any]) -> str | None:
    conversation = body.get("conversation")
    if isinstance(conversation, str):
        return conversation
    if isinstance(conversation, Mapping):
        return _str(conversation.get("id"))
    return None


def invocation_for(endpoint: Endpoint, body: Any, server: Server) -> LLMInvocation:
    """An unstarted ``LLMInvocation`` with everything the request body tells."""
    inv = LLMInvocation(operation=endpoint.operation, provider=server.provider)
    inv.server_address = server.address
    inv.server_port = server.port
    if not msg.is_mapping(body):
        return inv
    # Most parameters are absent from a given request: test for None before converting.
    get = body.get
    inv.request_model = _str(get("model"))
    kind = endpoint.kind
    if kind == EMBEDDINGS:
        fmt = _str(get("encoding_format"))
        inv.encoding_formats = [fmt] if fmt else None
        return inv
    if (value := get("temperature")) is not None:
        inv.temperature = as_number(value)
    if (value := get("top_p")) is not None:
        inv.top_p = as_number(value)
    # Conventions: ``gen_ai.request.stream`` if and only if streaming.
    inv.stream = True if get("stream") is True else None
    if (value := get("service_tier")) is not None:
        tier = _str(value)
        inv.request_service_tier = tier if tier != "auto" else None
    if kind == RESPONSES:
        inv.attributes[semconv.OPENAI_API_TYPE] = semconv.OPENAI_API_RESPONSES
        previous = get("previous_response_id")
        if previous is not None and isinstance(previous, str):
            inv.attributes[semconv.GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID] = previous
        inv.max_tokens = as_whole_number(get("max_output_tokens"))
        reasoning = get("reasoning")
        if reasoning is not None and isinstance(reasoning, Mapping):
            inv.reasoning_level = _str(reasoning.get("effort"))
        text = get("text")
        if isinstance(text, Mapping) and isinstance(text.get("format"), Mapping):
            inv.output_type = _output_type(text["format"].get("type"))
        inv.conversation_id = _conversation_id(body)
        return inv
    if kind == CHAT:
        inv.attributes[semconv.OPENAI_API_TYPE] = semconv.OPENAI_API_CHAT_COMPLETIONS
        if (value := get("reasoning_effort")) is not None:
            inv.reasoning_level = _str(value)
    max_tokens = get("max_completion_tokens")
    if max_tokens is None:
        max_tokens = get("max_tokens")
    if max_tokens is not None:
        inv.max_tokens = as_whole_number(max_tokens)
    if (value := get("seed")) is not None:
        inv.seed = as_whole_number(value)
    if (value := get("stop")) is not None:
        inv.stop_sequences = _stop(value)
    if (value := get("n")) is not None and value != 1:  # conventions: only when != 1
        inv.choice_count = as_whole_number(value)
    if (value := get("frequency_penalty")) is not None:
        inv.frequency_penalty = as_number(value)
    if (value := get("presence_penalty")) is not None:
        inv.presence_penalty = as_number(value)
    response_format = get("response_format")
    if response_format is not None and isinstance(response_format, Mapping):
        inv.output_type = _output_type(response_format.get("type"))
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
