"""Converse: the request, the response and the event stream mapped onto the record (pure).

    inv = converse_invocation(kwargs, provider, server)     # unstarted LLMInvocation
    apply_converse_response(inv, response)                   # the dict converse() returned
    answer = Answer(); answer.on_converse_event(event)       # each ConverseStream event
    answer.finish(inv)                                       # at the end of the stream

The Converse message format (``{"role", "content": [{"text"}, {"toolUse"}, ...]}``) has ONE
converter here, ``converse_messages``; Amazon Nova's InvokeModel bodies use the same
format and the same converter. Converse responses name no model: ``gen_ai.response.model``
is set only from a prompt router's ``invokedModelId``, never guessed.
"""

from __future__ import annotations

from typing import Any

from ... import semconv
from ..._genai import messages as core
from ..._genai.bedrock import price_name
from ..._genai.ending import set_tool_calls
from ..._genai.lifecycle import LLMInvocation
from ..._genai.messages import Part, as_list, as_str
from ..._genai.tokens import estimate_usage, usage_from_bedrock
from ..._genai.values import as_number, as_strings, as_whole_number
from ._models import Server

_MIME = {"jpg": "image/jpeg", "txt": "text/plain", "md": "text/markdown"}
_MODALITY = {"image": "image", "video": "video", "audio": "audio", "document": "document"}


# -- the Converse message format -> the conventions' parts ----------------------------------


def _mime(modality: str, fmt: Any) -> str | None:
    if not isinstance(fmt, str):
        return None
    return _MIME.get(fmt) or (
        f"application/{fmt}" if modality == "document" else f"{modality}/{fmt}"
    )


def _media_part(modality: str, block: Any) -> Part:
    if not isinstance(block, dict):
        return core.unknown_part(modality)
    mime = _mime(modality, block.get("format"))
    source = block.get("source")
    if not isinstance(source, dict):
        return core.blob_part(None, modality, mime)
    if "bytes" in source:
        return core.blob_part(source["bytes"], modality, mime)
    location = source.get("s3Location")
    if isinstance(location, dict):
        return core.uri_part(location.get("uri"), modality, mime)
    if isinstance(source.get("text"), str):  # a document given as plain text
        return core.text_part(source["text"])
    return core.blob_part(None, modality, mime)


def _tool_result(block: dict[str, Any]) -> Part:
    response: list[Any] = []
    for item in as_list(block.get("content")):
        if not isinstance(item, dict):
            continue
        if "json" in item:
            response.append(item["json"])
        elif "text" in item:
            response.append(item["text"])
        else:
            response.append(content_part(item))
    value: Any = response[0] if len(response) == 1 else response
    return core.tool_response_part(block.get("toolUseId"), value)


def content_part(block: Any) -> Part | None:
    """One Converse content block as a part; None for markers (``cachePoint``)."""
    if not isinstance(block, dict):
        return core.unknown_part(None)
    if "text" in block:
        return core.text_part(block["text"])
    tool_use = block.get("toolUse")
    if isinstance(tool_use, dict):
        return core.tool_call_part(
            tool_use.get("toolUseId"), tool_use.get("name"), tool_use.get("input")
        )
    tool_result = block.get("toolResult")
    if isinstance(tool_result, dict):
        return _tool_result(tool_result)
    for key, modality in _MODALITY.items():
        if key in block:
            return _media_part(modality, block[key])
    reasoning = block.get("reasoningContent")
    if isinstance(reasoning, dict):
        text = reasoning.get("reasoningText")
        if isinstance(text, dict) and isinstance(text.get("text"), str):
            return core.reasoning_part(text["text"])
        return core.unknown_part("redacted_reasoning")
    guarded = block.get("guardContent")
    if isinstance(guarded, dict) and isinstance(guarded.get("text"), dict):
        return core.text_part(guarded["text"].get("text", ""))
    if "cachePoint" in block:
        return None
    return core.unknown_part(next(iter(block), None))


def content_parts(content: Any) -> list[Part]:
    parts = []
    for block in as_list(content):
        part = content_part(block)
        if part is not None:
            parts.append(part)
    return parts


def converse_messages(messages: Any) -> list[Any]:
    """Converse (or Nova) ``messages`` as the conventions' input messages."""
    return [
        core.message(core.role_of(item.get("role")), content_parts(item.get("content")))
        for item in as_list(messages)
        if isinstance(item, dict)
    ]


def tool_definitions(tool_config: Any) -> list[dict[str, Any]] | None:
    if not isinstance(tool_config, dict):
        return None
    out = []
    for tool in as_list(tool_config.get("tools")):
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if not isinstance(spec, dict):
            continue
        entry: dict[str, Any] = {"type": "function", "name": spec.get("name")}
        if spec.get("description") is not None:
            entry["description"] = spec["description"]
        schema = spec.get("inputSchema")
        if isinstance(schema, dict) and "json" in schema:
            entry["parameters"] = schema["json"]
        out.append(entry)
    return out or None


def tool_call_names(parts: list[Any]) -> list[str]:
    return [p["name"] for p in parts if p.get("type") == "tool_call" and isinstance(p["name"], str)]


# -- request and response --------------------------------------------------------------------


def apply_inference_config(inv: LLMInvocation, config: Any) -> None:
    """``inferenceConfig`` (Converse and Nova bodies; Nova also spells some in snake case)."""
    if not isinstance(config, dict):
        return
    maximum = config.get("maxTokens", config.get("max_new_tokens"))
    inv.max_tokens = as_whole_number(maximum)
    inv.temperature = as_number(config.get("temperature"))
    inv.top_p = as_number(config.get("topP", config.get("top_p")))
    top_k = config.get("topK", config.get("top_k"))
    if top_k is not None:
        inv.top_k = as_number(top_k)
    stop = config.get("stopSequences")
    if isinstance(stop, list):
        inv.stop_sequences = as_strings(stop)


def converse_invocation(
    kwargs: dict[str, Any], provider: str, server: Server, stream: bool
) -> LLMInvocation:
    """An unstarted invocation with what the Converse request says (no content)."""
    model = as_str(kwargs.get("modelId"))
    inv = LLMInvocation(operation=semconv.OP_CHAT, provider=provider, request_model=model)
    inv.price_model = price_name(model)
    inv.server_address, inv.server_port = server
    inv.stream = True if stream else None
    apply_inference_config(inv, kwargs.get("inferenceConfig"))
    extra = kwargs.get("additionalModelRequestFields")
    if inv.top_k is None and isinstance(extra, dict):
        inv.top_k = as_number(extra.get("top_k", extra.get("topK")))
    guardrail = kwargs.get("guardrailConfig")
    if isinstance(guardrail, dict) and isinstance(guardrail.get("guardrailIdentifier"), str):
        inv.attributes[semconv.AWS_BEDROCK_GUARDRAIL_ID] = guardrail["guardrailIdentifier"]
    return inv


def add_converse_content(inv: LLMInvocation, kwargs: dict[str, Any]) -> None:
    """Input messages, system instructions and tools (content capture only)."""
    inv.input_messages = converse_messages(kwargs.get("messages"))
    system = content_parts(kwargs.get("system"))
    inv.system_instructions = system or None
    inv.tool_definitions = tool_definitions(kwargs.get("toolConfig"))


def router_model(trace: Any) -> str | None:
    """The model a prompt router chose: the one model id a Converse response names."""
    router = trace.get("promptRouter") if isinstance(trace, dict) else None
    return as_str(router.get("invokedModelId")) if isinstance(router, dict) else None


def apply_converse_response(inv: LLMInvocation, response: Any) -> None:
    """What a Converse response (or a Nova InvokeModel body) tells."""
    if not isinstance(response, dict):
        return
    reason = as_str(response.get("stopReason"))
    inv.finish_reasons = [reason] if reason else None
    usage = usage_from_bedrock(response.get("usage"))
    if usage is not None:
        inv.usage = usage
    routed = router_model(response.get("trace"))
    if routed:
        inv.response_model, inv.price_model = routed, price_name(routed)
    output = response.get("output")
    reply = output.get("message") if isinstance(output, dict) else None
    if not isinstance(reply, dict):
        return
    parts = content_parts(reply.get("content"))
    names = tool_call_names(parts)
    set_tool_calls(inv, names)
    if inv.capture_content:
        inv.output_messages = [
            core.output_message(
                parts, core.finish_reason(reason), core.role_of(reply.get("role"), "assistant")
            )
        ]


# -- streams: one accumulator for Converse events, Nova chunks and the others' text ----------


class Answer:
    """What a streamed answer said so far; ``finish`` fills the invocation once, at the end.

    Converse / Nova events go through ``on_converse_event``; other formats add text,
    tool calls, the stop reason and usage through the plain fields.
    """

    __slots__ = (
        "blocks",
        "chunks",
        "estimate_input",
        "reason",
        "response_id",
        "response_model",
        "routed",
        "usage",
    )

    def __init__(self, estimate_input: Any = None) -> None:
        # index -> [kind, pieces, tool id, tool name]; kind is "text", "reasoning" or "tool"
        self.blocks: dict[int, list[Any]] = {}
        self.chunks = 0
        self.reason: str | None = None
        self.usage: Any = None  # a Usage, once known
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.routed = False  # response_model is a prompt router's choice (priced as such)
        self.estimate_input = estimate_input

    def block(self, index: Any, kind: str = "text") -> list[Any]:
        index = index if isinstance(index, int) else 0
        found = self.blocks.get(index)
        if found is None:
            found = self.blocks[index] = [kind, [], None, None]
        return found

    def add_text(self, index: Any, text: Any, kind: str = "text") -> None:
        if isinstance(text, str):
            self.block(index, kind)[1].append(text)

    def start_tool(self, index: Any, call_id: Any, name: Any) -> None:
        block = self.block(index, "tool")
        block[0], block[2], block[3] = "tool", as_str(call_id), as_str(name)

    def on_converse_event(self, event: Any) -> None:
        """One ConverseStream event (or a Nova stream chunk, which has the same shape)."""
        if not isinstance(event, dict):
            return
        delta_event = event.get("contentBlockDelta")
        if isinstance(delta_event, dict):
            index, delta = delta_event.get("contentBlockIndex"), delta_event.get("delta")
            if not isinstance(delta, dict):
                return
            if "text" in delta:
                self.add_text(index, delta["text"])
            elif isinstance(delta.get("toolUse"), dict):
                self.add_text(index, delta["toolUse"].get("input"), "tool")
            elif isinstance(delta.get("reasoningContent"), dict):
                self.add_text(index, delta["reasoningContent"].get("text"), "reasoning")
            return
        start_event = event.get("contentBlockStart")
        if isinstance(start_event, dict):
            start = start_event.get("start")
            tool = start.get("toolUse") if isinstance(start, dict) else None
            if isinstance(tool, dict):
                self.start_tool(
                    start_event.get("contentBlockIndex"), tool.get("toolUseId"), tool.get("name")
                )
            return
        stop = event.get("messageStop")
        if isinstance(stop, dict):
            self.reason = as_str(stop.get("stopReason")) or self.reason
            return
        metadata = event.get("metadata")
        if isinstance(metadata, dict):
            self.usage = usage_from_bedrock(metadata.get("usage")) or self.usage
            routed = router_model(metadata.get("trace"))
            if routed:
                self.response_model, self.routed = routed, True

    def parts(self) -> list[Any]:
        parts: list[Any] = []
        for index in sorted(self.blocks):
            kind, pieces, call_id, name = self.blocks[index]
            text = "".join(pieces)
            if kind == "tool":
                parts.append(core.tool_call_part(call_id, name, core.parse_arguments(text or None)))
            elif kind == "reasoning":
                parts.append(core.reasoning_part(text))
            else:
                parts.append(core.text_part(text))
        return parts

    def text(self) -> str:
        return "".join(piece for block in self.blocks.values() for piece in block[1])

    def finish(self, inv: LLMInvocation) -> None:
        """Fill the invocation from what the stream said (called once, at its end)."""
        inv.finish_reasons = [self.reason] if self.reason else None
        inv.response_id = self.response_id or inv.response_id
        if self.response_model:
            inv.response_model = self.response_model
            if self.routed:
                inv.price_model = price_name(self.response_model)
        names = [b[3] for b in self.blocks.values() if b[0] == "tool" and b[3]]
        set_tool_calls(inv, names)
        inv.usage = self.usage
        if inv.usage is None and (self.chunks or self.estimate_input is not None):
            inv.usage = estimate_usage(inv.request_model, self.estimate_input, self.text())
        if inv.capture_content:
            inv.output_messages = [
                core.output_message(self.parts(), core.finish_reason(self.reason))
            ]
