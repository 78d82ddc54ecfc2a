"""Helpers shared by the LangChain tests: fake models and span assertions."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from opentelemetry.sdk.trace import ReadableSpan

from llmtrace.testing import SpanCapture


class ToolCallingFakeChatModel(GenericFakeChatModel):
    """GenericFakeChatModel that accepts bind_tools (for agent loops)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def reply(
    text: str = "hello there",
    *,
    input_tokens: int = 3,
    output_tokens: int = 2,
    model: str = "fake-1",
    finish_reason: str = "stop",
    **extra: Any,
) -> AIMessage:
    return AIMessage(
        content=text,
        usage_metadata={
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        },
        response_metadata={"model_name": model, "finish_reason": finish_reason},
        **extra,
    )


def fake_chat(*messages: AIMessage, **kwargs: Any) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(messages or [reply()]), **kwargs)


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def parent_name(captured: SpanCapture, span: ReadableSpan) -> str | None:
    parent = captured.parent_of(span)
    return parent.name if parent is not None else None


def assert_one_trace(captured: SpanCapture) -> None:
    """All spans share one trace and every parent is among the captured spans."""
    spans = captured.spans
    assert len({s.context.trace_id for s in spans if s.context}) == 1, captured.tree()
    assert len(captured.roots()) == 1, captured.tree()
    for span in spans:
        if span.parent is not None:
            assert captured.parent_of(span) is not None, f"orphan {span.name}\n{captured.tree()}"
