"""An exclusive LLM span (``attach(exclusive=True)``): no LLM span opens beneath it,
so an integration calling another instrumented SDK records one call, once."""

from __future__ import annotations

from llmtrace._genai.lifecycle import LLMInvocation
from llmtrace.testing import SpanCapture


def test_no_llm_span_opens_beneath_an_exclusive_one(captured: SpanCapture) -> None:
    outer = LLMInvocation(operation="chat", provider="anthropic", request_model="claude-x")
    assert outer.start()
    outer.attach(exclusive=True)
    inner = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o")
    assert inner.start() is False
    inner.stop()  # a no-op, as for any invocation that did not start
    outer.stop()
    after = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o")
    assert after.start()  # detached again: spans open as usual
    after.stop()
    assert [s.name for s in captured.spans] == ["chat claude-x", "chat gpt-4o"]
