"""Response phase: fill an ``LLMInvocation`` from a ``google.genai`` response (pure).

    apply_response(inv, response)                  # a GenerateContentResponse (or its dict)
    apply_embeddings(inv, response, contents)      # an EmbedContentResponse

A field that is missing or of an unexpected type is skipped, so an odd response
yields what could be read and never an exception. Output messages are built only
with content capture on.
"""

from __future__ import annotations

from typing import Any

from ... import semconv
from ..._genai.lifecycle import LLMInvocation
from ..._genai.messages import as_list, as_str, get
from ..._genai.tokens import Usage, as_token_count, estimate_usage, usage_from_gemini
from . import _messages as msg
from ._messages import field_of


def finish_reasons_and_calls(candidates: list[Any]) -> tuple[list[str] | None, list[str]]:
    """The mapped finish reason of each candidate, and the names of the functions called."""
    reasons, names = [], []
    for candidate in candidates:
        called = msg.call_names(candidate)
        if called:
            names += [name for name in called if name]
        raw = field_of(candidate, "finish_reason", "finishReason")
        if raw is not None:
            reasons.append(msg.finish_reason_of(raw, bool(called)))
    return reasons or None, names


def blocked_reason(response: Any) -> str | None:
    """``content_filter`` when the prompt itself was blocked (no candidates come back)."""
    feedback = field_of(response, "prompt_feedback", "promptFeedback")
    reason = field_of(feedback, "block_reason", "blockReason") if feedback is not None else None
    return "content_filter" if reason is not None else None


def set_tool_calls(inv: LLMInvocation, names: list[str]) -> None:
    if names:
        inv.attributes[semconv.LLMTRACE_RESPONSE_TOOL_CALLS] = names


def apply_response(inv: LLMInvocation, response: Any) -> None:
    """Copy what a generate_content response tells into ``inv``."""
    if response is None or isinstance(response, (str, bytes, int, float, bool)):
        return
    inv.response_id = as_str(field_of(response, "response_id", "responseId")) or inv.response_id
    inv.response_model = (
        as_str(field_of(response, "model_version", "modelVersion")) or inv.response_model
    )
    usage = usage_from_gemini(field_of(response, "usage_metadata", "usageMetadata"))
    if usage is not None:
        inv.usage = usage
    candidates = as_list(get(response, "candidates"))
    inv.finish_reasons, names = finish_reasons_and_calls(candidates)
    if not candidates and (reason := blocked_reason(response)):
        inv.finish_reasons = [reason]
    set_tool_calls(inv, names)
    if inv.capture_content and inv.is_recording:
        inv.output_messages = msg.output_messages(candidates)


def _statistics_usage(embeddings: list[Any]) -> Usage | None:
    """Vertex AI's per-embedding ``statistics.token_count``, summed."""
    counts = [as_token_count(get(get(e, "statistics"), "token_count")) for e in embeddings]
    known = [c for c in counts if c is not None]
    return Usage(input_tokens=sum(known)) if known else None


def _texts(contents: Any) -> str:
    """The text of what was embedded (for an estimate when the API reports no usage)."""
    pieces: list[str] = []
    for message in msg.input_messages(contents):
        pieces.extend(p["content"] for p in message["parts"] if p.get("type") == "text")
    return "\n".join(pieces)


def apply_embeddings(inv: LLMInvocation, response: Any, contents: Any) -> None:
    """Dimensions and usage of an embed_content response.

    The Gemini Developer API reports no usage for embeddings: the input tokens are
    then counted locally from the embedded text and flagged as estimated.
    """
    embeddings = as_list(get(response, "embeddings"))
    if embeddings:
        values = get(embeddings[0], "values")
        if isinstance(values, (list, tuple)):
            inv.embedding_dimensions = len(values)
    usage = usage_from_gemini(field_of(response, "usage_metadata", "usageMetadata"))
    if usage is None:
        usage = _statistics_usage(embeddings)
    if usage is None:
        estimate = estimate_usage(inv.request_model, _texts(contents))
        usage = Usage(input_tokens=estimate.input_tokens, estimated=True)
    inv.usage = usage


def status_code_of(exc: BaseException) -> int | None:
    """The HTTP status of a ``google.genai.errors.APIError`` (its ``code``)."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) and not isinstance(code, bool) and code >= 100 else None
