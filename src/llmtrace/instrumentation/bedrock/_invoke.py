"""InvokeModel: the model families' JSON bodies mapped onto the record (pure).

    body = parse_body(kwargs["body"])                     # None for a file-like body
    kind = family(model_id, body)                        # ANTHROPIC, NOVA, TITAN, META, ...
    inv = invoke_invocation(model_id, kind, body, provider, server, stream=False)
    apply_invoke_body(inv, kind, json.loads(response_bytes), headers)
    chunks = InvokeChunks(kind, estimate_input); chunks.on_chunk(parsed_chunk); chunks.finish(inv)

Families: Anthropic Messages, Amazon Nova (the Converse format, see ``_converse``), Amazon
Titan Text and Embeddings, Meta Llama, Cohere Command, Command R and Embed. Usage comes
from the body where it says it (with cache reads and writes), else from Bedrock's own
counts (the ``x-amzn-bedrock-*-token-count`` headers, the stream's
``amazon-bedrock-invocationMetrics``), which every model has.
"""

from __future__ import annotations

import json
from typing import Any

from ... import semconv
from ..._genai.bedrock import price_name
from ..._genai.ending import set_tool_calls
from ..._genai.lifecycle import LLMInvocation
from ..._genai.messages import (
    as_list,
    as_str,
    finish_reason,
    message,
    output_message,
    role_of,
    text_part,
)
from ..._genai.tokens import Usage, as_token_count, usage_from_anthropic, usage_from_bedrock
from ..._genai.values import as_number, as_strings, as_whole_number
from ..anthropic import _messages as anthropic_messages
from ._converse import Answer, apply_converse_response, apply_inference_config, converse_messages
from ._converse import content_parts as converse_parts
from ._converse import tool_definitions as converse_tools
from ._models import (
    ANTHROPIC,
    COHERE,
    COHERE_CHAT,
    COHERE_EMBED,
    META,
    NOVA,
    TITAN,
    TITAN_EMBED,
    Server,
)

MAX_BODY_BYTES = 8 * 1024 * 1024  # request bodies larger than this are not parsed
_METRICS = "amazon-bedrock-invocationMetrics"
_HEADERS = (
    ("inputTokenCount", "x-amzn-bedrock-input-token-count"),
    ("outputTokenCount", "x-amzn-bedrock-output-token-count"),
    ("cacheReadInputTokenCount", "x-amzn-bedrock-cache-read-input-token-count"),
    ("cacheWriteInputTokenCount", "x-amzn-bedrock-cache-write-input-token-count"),
)
_OPERATIONS = {
    ANTHROPIC: semconv.OP_CHAT,
    NOVA: semconv.OP_CHAT,
    COHERE_CHAT: semconv.OP_CHAT,
    TITAN: semconv.OP_TEXT_COMPLETION,
    META: semconv.OP_TEXT_COMPLETION,
    COHERE: semconv.OP_TEXT_COMPLETION,
    TITAN_EMBED: semconv.OP_EMBEDDINGS,
    COHERE_EMBED: semconv.OP_EMBEDDINGS,
}


def parse_body(body: Any) -> Any:
    """A JSON request or response body given as bytes or text; None otherwise (file-like)."""
    if not isinstance(body, (bytes, bytearray, str)) or len(body) > MAX_BODY_BYTES:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def is_known(kind: str) -> bool:
    return kind in _OPERATIONS


# -- request ---------------------------------------------------------------------------------


def invoke_invocation(
    model_id: str | None, kind: str, body: Any, provider: str, server: Server, stream: bool
) -> LLMInvocation:
    """An unstarted invocation with what the InvokeModel request says (no content)."""
    operation = _OPERATIONS.get(kind, semconv.OP_GENERATE_CONTENT)
    inv = LLMInvocation(operation=operation, provider=provider, request_model=model_id)
    inv.price_model = price_name(model_id)
    inv.server_address, inv.server_port = server
    inv.stream = True if stream else None
    if isinstance(body, dict):
        _apply_parameters(inv, kind, body)
    return inv


def _apply_parameters(inv: LLMInvocation, kind: str, body: dict[str, Any]) -> None:
    get = body.get
    if kind == NOVA:
        apply_inference_config(inv, get("inferenceConfig"))
        return
    if kind == TITAN:
        config = get("textGenerationConfig")
        if isinstance(config, dict):
            inv.max_tokens = as_whole_number(config.get("maxTokenCount"))
            inv.temperature = as_number(config.get("temperature"))
            inv.top_p = as_number(config.get("topP"))
            inv.stop_sequences = as_strings(config.get("stopSequences"))
        return
    if kind in (TITAN_EMBED, COHERE_EMBED):
        return
    inv.max_tokens = as_whole_number(get("max_gen_len") if kind == META else get("max_tokens"))
    inv.temperature = as_number(get("temperature"))
    inv.top_p = as_number(get("top_p") if kind in (ANTHROPIC, META) else get("p"))
    inv.top_k = as_number(get("top_k") if kind == ANTHROPIC else get("k"))
    inv.stop_sequences = as_strings(get("stop_sequences"))
    if kind == COHERE_CHAT:
        inv.seed = as_whole_number(get("seed"))


def add_invoke_content(inv: LLMInvocation, kind: str, body: Any) -> None:
    """Input messages, system instructions and tools (content capture only)."""
    if not isinstance(body, dict):
        return
    if kind == ANTHROPIC:
        inv.input_messages = anthropic_messages.input_messages(body.get("messages"))
        inv.system_instructions = anthropic_messages.system_instructions(body.get("system"))
        inv.tool_definitions = anthropic_messages.tool_definitions(body.get("tools"))
    elif kind == NOVA:
        inv.input_messages = converse_messages(body.get("messages"))
        inv.system_instructions = converse_parts(body.get("system")) or None
        inv.tool_definitions = converse_tools(body.get("toolConfig"))
    elif kind == COHERE_CHAT:
        history = [
            message(
                role_of(_COHERE_ROLES.get(str(m.get("role")), m.get("role"))),
                [text_part(m.get("message", ""))],
            )
            for m in as_list(body.get("chat_history"))
            if isinstance(m, dict)
        ]
        inv.input_messages = [*history, message("user", [text_part(body.get("message", ""))])]
        preamble = body.get("preamble")
        inv.system_instructions = [text_part(preamble)] if isinstance(preamble, str) else None
    else:
        prompt = estimation_input(kind, body)
        if prompt is not None:
            inv.input_messages = [
                message("user", [text_part(p) for p in as_list(prompt) or [prompt]])
            ]


_COHERE_ROLES = {"USER": "user", "CHATBOT": "assistant", "SYSTEM": "system", "TOOL": "tool"}


def estimation_input(kind: str, body: Any) -> Any:
    """What ``tokens.estimate_usage`` counts as the input of this request."""
    if not isinstance(body, dict):
        return None
    if kind in (ANTHROPIC, NOVA):
        return body.get("messages")
    if kind in (TITAN, TITAN_EMBED):
        return body.get("inputText")
    if kind == COHERE_CHAT:
        return body.get("message")
    if kind == COHERE_EMBED:
        return body.get("texts")
    return body.get("prompt")


# -- response (InvokeModel) ------------------------------------------------------------------


def header_usage(headers: Any) -> Usage | None:
    """Bedrock's own token counts from the InvokeModel response headers."""
    if not isinstance(headers, dict):
        return None
    counts = {}
    for key, header in _HEADERS:
        value = headers.get(header)
        if isinstance(value, str) and value.isdigit():
            counts[key] = int(value)
    return usage_from_bedrock(counts) if counts else None


def _first_output(inv: LLMInvocation, text: Any, reason: Any) -> None:
    reason = as_str(reason)
    inv.finish_reasons = [reason] if reason else None
    if inv.capture_content:
        parts = [text_part(text)] if isinstance(text, str) else []
        inv.output_messages = [output_message(parts, finish_reason(reason))]


def _counts(input_tokens: Any, output_tokens: Any) -> Usage | None:
    inp, out = as_token_count(input_tokens), as_token_count(output_tokens)
    return None if inp is None and out is None else Usage(inp, out)


def apply_invoke_body(inv: LLMInvocation, kind: str, body: Any, headers: Any) -> None:
    """What an InvokeModel response body (parsed JSON) and its headers tell."""
    usage = None
    if isinstance(body, dict):
        usage = _apply_body(inv, kind, body)
    inv.usage = usage or header_usage(headers)


def _apply_body(inv: LLMInvocation, kind: str, body: dict[str, Any]) -> Usage | None:
    get = body.get
    if kind == ANTHROPIC:
        inv.response_id = as_str(get("id"))
        inv.response_model = as_str(get("model"))
        reason = as_str(get("stop_reason"))
        inv.finish_reasons = [reason] if reason else None
        names = anthropic_messages.tool_call_names(get("content"))
        set_tool_calls(inv, names)
        if inv.capture_content:
            inv.output_messages = [anthropic_messages.output_message(get("content"), reason)]
        return usage_from_anthropic(get("usage"))
    if kind == NOVA:
        apply_converse_response(inv, body)
        return inv.usage
    if kind == TITAN:
        results = [r for r in as_list(get("results")) if isinstance(r, dict)]
        first = results[0] if results else {}
        _first_output(inv, first.get("outputText"), first.get("completionReason"))
        output = sum(as_token_count(r.get("tokenCount")) or 0 for r in results)
        return _counts(get("inputTextTokenCount"), output if results else None)
    if kind == META:
        _first_output(inv, get("generation"), get("stop_reason"))
        return _counts(get("prompt_token_count"), get("generation_token_count"))
    if kind == COHERE:
        generations = [g for g in as_list(get("generations")) if isinstance(g, dict)]
        first = generations[0] if generations else {}
        inv.response_id = as_str(get("id"))
        _first_output(inv, first.get("text"), first.get("finish_reason"))
        return None
    if kind == COHERE_CHAT:
        inv.response_id = as_str(get("response_id")) or as_str(get("generation_id"))
        calls = [c for c in as_list(get("tool_calls")) if isinstance(c, dict)]
        names = [c["name"] for c in calls if isinstance(c.get("name"), str)]
        set_tool_calls(inv, names)
        _first_output(inv, get("text"), get("finish_reason"))
        return None
    if kind == TITAN_EMBED:
        inv.embedding_dimensions = _length(get("embedding"))
        return _counts(get("inputTextTokenCount"), None)
    if kind == COHERE_EMBED:
        inv.response_id = as_str(get("id"))
        embeddings = get("embeddings")
        if isinstance(embeddings, dict):  # embedding_types given: {"float": [[...]], ...}
            embeddings = next(iter(embeddings.values()), None)
        inv.embedding_dimensions = _length(next(iter(as_list(embeddings)), None))
    return None


def _length(vector: Any) -> int | None:
    return len(vector) if isinstance(vector, list) and vector else None


# -- response stream (InvokeModelWithResponseStream) -----------------------------------------


class InvokeChunks:
    """Accumulates one family's stream chunks (parsed JSON of each ``chunk.bytes``)."""

    __slots__ = ("answer", "anthropic_usage", "counts", "kind", "metrics")

    def __init__(self, kind: str, estimate_input: Any) -> None:
        self.kind = kind
        self.answer = Answer(estimate_input)
        self.anthropic_usage: dict[str, Any] = {}
        self.counts: list[Any] = [None, None]  # input, output reported by the model
        self.metrics: Any = None  # amazon-bedrock-invocationMetrics (the last chunk's)

    def on_chunk(self, chunk: Any) -> None:
        if not isinstance(chunk, dict):
            return
        self.answer.chunks += 1
        metrics = chunk.get(_METRICS)
        if metrics is not None:
            self.metrics = metrics
        kind = self.kind
        if kind == ANTHROPIC:
            self._anthropic(chunk)
        elif kind == NOVA:
            self.answer.on_converse_event(chunk)
        elif kind == TITAN:
            self._text(chunk.get("outputText"), chunk.get("completionReason"))
            self._count(chunk.get("inputTextTokenCount"), chunk.get("totalOutputTextTokenCount"))
        elif kind == META:
            self._text(chunk.get("generation"), chunk.get("stop_reason"))
            self._count(chunk.get("prompt_token_count"), chunk.get("generation_token_count"))
        elif kind == COHERE_CHAT:
            if chunk.get("event_type") == "text-generation":
                self._text(chunk.get("text"), None)
            self._text(None, chunk.get("finish_reason"))
        elif kind == COHERE:
            text = chunk.get("text")
            if text is None:
                generations = as_list(chunk.get("generations"))
                first = generations[0] if generations and isinstance(generations[0], dict) else {}
                text = first.get("text")
            self._text(text, chunk.get("finish_reason"))

    def _text(self, text: Any, reason: Any) -> None:
        self.answer.add_text(0, text)
        if isinstance(reason, str):
            self.answer.reason = reason

    def _count(self, input_tokens: Any, output_tokens: Any) -> None:
        if input_tokens is not None:
            self.counts[0] = input_tokens
        if output_tokens is not None:
            self.counts[1] = output_tokens

    def _anthropic(self, chunk: dict[str, Any]) -> None:
        answer, kind = self.answer, chunk.get("type")
        if kind == "content_block_delta":
            delta = chunk.get("delta")
            if isinstance(delta, dict):
                index = chunk.get("index")
                if "text" in delta:
                    answer.add_text(index, delta["text"])
                elif "partial_json" in delta:
                    answer.add_text(index, delta["partial_json"], "tool")
                elif "thinking" in delta:
                    answer.add_text(index, delta["thinking"], "reasoning")
        elif kind == "content_block_start":
            block = chunk.get("content_block")
            if isinstance(block, dict):
                if block.get("type") == "tool_use":
                    answer.start_tool(chunk.get("index"), block.get("id"), block.get("name"))
                elif block.get("type") == "thinking":
                    answer.block(chunk.get("index"), "reasoning")
        elif kind == "message_start":
            started = chunk.get("message")
            if isinstance(started, dict):
                answer.response_id = as_str(started.get("id"))
                answer.response_model = as_str(started.get("model"))
                self._anthropic_usage(started.get("usage"))
        elif kind == "message_delta":
            delta = chunk.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
                answer.reason = delta["stop_reason"]
            self._anthropic_usage(chunk.get("usage"))

    def _anthropic_usage(self, usage: Any) -> None:
        if isinstance(usage, dict):
            self.anthropic_usage.update({k: v for k, v in usage.items() if v is not None})

    def finish(self, inv: LLMInvocation) -> None:
        answer = self.answer
        if answer.usage is None:
            if self.anthropic_usage:
                answer.usage = usage_from_anthropic(self.anthropic_usage)
            elif self.counts != [None, None]:
                answer.usage = _counts(*self.counts)
            if answer.usage is None and isinstance(self.metrics, dict):
                answer.usage = usage_from_bedrock(self.metrics)
        answer.finish(inv)
