"""Request phase: what a ``google.genai`` call asks, as an unstarted ``LLMInvocation`` (pure).

    inv = invocation_for(GENERATE, vertexai=False, kwargs={"model": ..., "config": ...})
    inv.start(); if inv.capture_content: add_request_content(inv, kwargs)

The SDK's methods take keyword arguments only (``model``, ``contents``, ``config``);
``config`` is a ``GenerateContentConfig`` / ``EmbedContentConfig`` or its dict (in
snake_case or camelCase). A field of an unexpected type is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ... import semconv
from ..._genai import providers
from ..._genai.lifecycle import LLMInvocation
from ..._genai.messages import as_str, get
from ..._genai.values import as_number, as_strings, as_whole_number
from . import _messages as msg
from ._messages import field_of

# Call kinds: which extractors read the request and the response.
GENERATE = "generate"
EMBED = "embed"

GEMINI = providers.by_alias("gemini")  # gcp.gemini: the Gemini Developer API
VERTEX_AI = providers.by_alias("vertex_ai")  # gcp.vertex_ai

# Output types by response MIME type (conventions' gen_ai.output.type values).
_OUTPUT_TYPES = {"application/json": "json", "text/plain": "text", "text/x.enum": "text"}


def model_name(model: Any) -> str | None:
    """``gemini-2.5-flash`` for ``models/gemini-2.5-flash`` or a Vertex resource name."""
    if not isinstance(model, str) or not model:
        return None
    if model.startswith("models/"):
        return model[7:] or None
    _, found, tail = model.rpartition("/models/")
    return tail if found and tail else model


def invocation_for(kind: str, vertexai: Any, kwargs: Mapping[str, Any]) -> LLMInvocation:
    """An unstarted invocation with everything the call's arguments tell."""
    inv = LLMInvocation(
        operation=semconv.OP_EMBEDDINGS if kind == EMBED else semconv.OP_GENERATE_CONTENT,
        provider=VERTEX_AI if vertexai is True else GEMINI,
        request_model=model_name(kwargs.get("model")),
    )
    config = kwargs.get("config")
    if config is None:
        return inv
    if kind == EMBED:
        # What was asked for; the response's vectors say what came back.
        inv.embedding_dimensions = as_whole_number(
            field_of(config, "output_dimensionality", "outputDimensionality")
        )
        return inv
    read = field_of
    inv.temperature = as_number(read(config, "temperature", "temperature"))
    inv.top_p = as_number(read(config, "top_p", "topP"))
    inv.top_k = as_number(read(config, "top_k", "topK"))
    inv.max_tokens = as_whole_number(read(config, "max_output_tokens", "maxOutputTokens"))
    inv.seed = as_whole_number(read(config, "seed", "seed"))
    inv.stop_sequences = as_strings(read(config, "stop_sequences", "stopSequences"))
    count = as_whole_number(read(config, "candidate_count", "candidateCount"))
    inv.choice_count = count if count is not None and count != 1 else None
    inv.frequency_penalty = as_number(read(config, "frequency_penalty", "frequencyPenalty"))
    inv.presence_penalty = as_number(read(config, "presence_penalty", "presencePenalty"))
    mime = as_str(read(config, "response_mime_type", "responseMimeType"))
    if mime is not None:
        inv.output_type = _OUTPUT_TYPES.get(mime, mime)
    return inv


def add_request_content(inv: LLMInvocation, kind: str, kwargs: Mapping[str, Any]) -> None:
    """Input messages, system instructions and tool definitions (content capture only)."""
    inv.input_messages = msg.input_messages(kwargs.get("contents"))
    if kind == EMBED:
        return
    config = kwargs.get("config")
    if config is None:
        return
    inv.system_instructions = msg.system_instructions(
        field_of(config, "system_instruction", "systemInstruction")
    )
    inv.tool_definitions = msg.tool_definitions(get(config, "tools"))
