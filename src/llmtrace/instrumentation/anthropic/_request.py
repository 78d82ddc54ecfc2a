"""Request phase: the keyword arguments of ``messages.create`` / ``stream`` -> an invocation.

    inv = invocation_for(kwargs, server, stream=False)     # LLMInvocation, not started
    inv.start(); if inv.capture_content: add_request_content(inv, kwargs)

Pure functions over the arguments the caller passed (``Messages.create`` takes
keyword arguments only); a value of an unexpected type is skipped. Sampling
parameters the SDK has no argument for (``temperature``, ``top_p``, ``top_k`` in
anthropic 2.x) are sent in ``extra_body``, and read from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ... import semconv
from ..._genai import providers
from ..._genai.bedrock import price_name
from ..._genai.lifecycle import LLMInvocation
from ..._genai.messages import as_str, get
from ..._genai.values import as_number, as_strings, as_whole_number
from . import _messages as msg


@dataclass(frozen=True, slots=True)
class Server:
    """Where a client's calls go: the provider name and the base URL's host and port."""

    provider: str
    address: str | None = None
    port: int | None = None


DEFAULT_SERVER = Server("anthropic")
# AnthropicBedrock: priced by the requested model id, as boto3's Bedrock calls are.
_BEDROCK = providers.by_alias("bedrock")


def _output_type(kwargs: Mapping[str, Any]) -> str | None:
    """``json`` for a structured-output request (``output_config.format`` or ``output_format``)."""
    legacy = kwargs.get("output_format")  # a type (parse/stream helpers) or a schema dict
    if isinstance(legacy, type) or get(legacy, "type") == "json_schema":
        return "json"
    if get(get(kwargs.get("output_config"), "format"), "type") == "json_schema":
        return "json"
    return None


def invocation_for(kwargs: Mapping[str, Any], server: Server, stream: bool) -> LLMInvocation:
    """An unstarted ``LLMInvocation`` with everything the arguments tell."""
    inv = LLMInvocation(operation=semconv.OP_CHAT, provider=server.provider)
    inv.server_address = server.address
    inv.server_port = server.port
    get_ = kwargs.get
    extra = get_("extra_body")
    if isinstance(extra, Mapping) and extra:
        get_ = {**kwargs, **extra}.get
    inv.request_model = as_str(get_("model"))
    if server.provider == _BEDROCK:
        inv.price_model = price_name(inv.request_model)
    inv.max_tokens = as_whole_number(get_("max_tokens"))
    if (value := get_("temperature")) is not None:
        inv.temperature = as_number(value)
    if (value := get_("top_p")) is not None:
        inv.top_p = as_number(value)
    if (value := get_("top_k")) is not None:
        inv.top_k = as_number(value)
    if (value := get_("stop_sequences")) is not None:
        inv.stop_sequences = as_strings(value)
    inv.stream = stream or None
    if get_("output_config") is not None or get_("output_format") is not None:
        inv.output_type = _output_type(kwargs)
    return inv


def add_request_content(inv: LLMInvocation, kwargs: Mapping[str, Any]) -> None:
    """Input messages, system instructions and tool definitions (content capture only)."""
    inv.input_messages = msg.input_messages(kwargs.get("messages"))
    inv.system_instructions = msg.system_instructions(kwargs.get("system"))
    inv.tool_definitions = msg.tool_definitions(kwargs.get("tools"))
