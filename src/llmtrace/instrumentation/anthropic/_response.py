"""Response phase: fill an ``LLMInvocation`` from a Message (pure functions).

    apply_message(inv, message)       # an anthropic Message, or the JSON dict of one

A field that is missing or of an unexpected type is skipped, so an unknown shape
yields the fields that could be read and never an exception. Usage goes through
``usage_from_anthropic``: Anthropic's ``input_tokens`` exclude cache reads and
writes, the span's ``gen_ai.usage.input_tokens`` include them.
"""

from __future__ import annotations

from typing import Any

from ..._genai.ending import set_tool_calls
from ..._genai.lifecycle import LLMInvocation
from ..._genai.messages import as_str, finish_reason, reader
from ..._genai.tokens import usage_from_anthropic
from . import _messages as msg


def apply_message(inv: LLMInvocation, data: Any) -> None:
    """Copy what ``data`` (a Message) tells into ``inv``."""
    if data is None or isinstance(data, (str, bytes, int, float, bool, list)):
        return
    read = reader(data)
    inv.response_id = as_str(read("id", None)) or inv.response_id
    inv.response_model = as_str(read("model", None)) or inv.response_model
    usage = usage_from_anthropic(read("usage", None))
    if usage is not None:
        inv.usage = usage
    stop_reason = read("stop_reason", None)
    if isinstance(stop_reason, str):
        inv.finish_reasons = [finish_reason(stop_reason)]
    content = read("content", None)
    set_tool_calls(inv, msg.tool_call_names(content))
    if inv.capture_content:
        inv.output_messages = [msg.output_message(content, stop_reason)]
