"""Stream phase: accumulate OpenAI stream chunks, then finish the invocation once.

    hooks = OpenAIStreamHooks(inv, endpoint.kind, hide_usage_chunk=True, estimate_input=messages)
    return StreamProxy(stream, hooks)       # llmtrace.streams does the lifecycle

Per chunk only cheap reads happen (ids, finish reasons, text and tool-call
deltas appended to lists); everything else is computed once at the end. When
the stream carries no usage (the server ignores ``include_usage``, or the
caller stopped early), usage is estimated locally from the request and the
received text and marked ``llmtrace.usage.estimated=true``.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from ... import semconv
from ..._invocation import LLMInvocation
from ...streams import StreamHooks
from ...tokens import estimate_usage, usage_from_openai
from . import _messages as msg
from ._messages import get, reader
from ._request import CHAT, RESPONSES
from ._response import apply_response, set_tool_calls, status_code_of

_chunk_fields = attrgetter("choices", "usage")
_choice_fields = attrgetter("index", "finish_reason", "delta")
_delta_fields = attrgetter("content", "refusal", "tool_calls")
_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_START_EVENTS = frozenset({"response.created", "response.in_progress"})


class _Choice:
    """What one streamed choice said so far."""

    __slots__ = ("finish_reason", "refusal", "text", "tool_calls")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, list[Any]] = {}  # index -> [id, name, [argument pieces]]
        self.finish_reason: str | None = None

    def add_tool_call(self, delta: Any) -> None:
        index = get(delta, "index")
        index = index if isinstance(index, int) else len(self.tool_calls)
        call = self.tool_calls.get(index)
        if call is None:
            call = self.tool_calls[index] = [None, None, []]
        call_id = get(delta, "id")
        if isinstance(call_id, str):
            call[0] = call_id
        function = get(delta, "function")
        name = get(function, "name")
        if isinstance(name, str):
            call[1] = name
        arguments = get(function, "arguments")
        if isinstance(arguments, str):
            call[2].append(arguments)

    def message(self) -> dict[str, Any]:
        parts: list[dict[str, Any]] = []
        if self.text:
            parts.append({"type": "text", "content": "".join(self.text)})
        if self.refusal:
            parts.append({"type": "refusal", "content": "".join(self.refusal)})
        for call_id, name, pieces in self.tool_calls.values():
            parts.append(
                {
                    "type": "tool_call",
                    "id": call_id,
                    "name": name,
                    "arguments": msg._arguments("".join(pieces)),
                }
            )
        return {
            "role": "assistant",
            "parts": parts,
            "finish_reason": msg.output_finish_reason(self.finish_reason),
        }

    def output_text(self) -> str:
        pieces = self.text + self.refusal
        for _, name, arguments in self.tool_calls.values():
            pieces.append(name or "")
            pieces.extend(arguments)
        return "".join(pieces)


class OpenAIStreamHooks(StreamHooks):
    """Accumulates chat, legacy-completion or Responses stream chunks for one invocation."""

    __slots__ = (
        "_choices",
        "_chunks",
        "_estimate_input",
        "_final",
        "_first",
        "_hide_usage",
        "_kind",
        "_last",
        "_text",
        "_usage",
        "inv",
    )

    def __init__(
        self, inv: LLMInvocation, kind: str, hide_usage_chunk: bool, estimate_input: Any
    ) -> None:
        self.inv = inv
        self._kind = kind
        self._hide_usage = hide_usage_chunk
        self._estimate_input = estimate_input
        self._first: Any = None
        self._last: Any = None
        self._chunks = 0
        self._usage: Any = None
        self._choices: dict[int, _Choice] = {}
        self._text: list[str] = []  # Responses: output text deltas
        self._final: Any = None  # Responses: the final response object

    # -- per chunk (hot path) -------------------------------------------------------------
    def on_chunk(self, chunk: Any) -> bool:
        if self._first is None:
            self._first = chunk
            self.inv.mark_first_chunk()
        if self._kind == RESPONSES:
            self._on_event(chunk)
            self._chunks += 1
            return True
        self._last = chunk
        # The SDK's pydantic objects are read with one attrgetter call per object; a
        # mapping (or an object missing a field) raises AttributeError and takes the
        # generic path.
        try:
            choices, usage = _chunk_fields(chunk)
        except AttributeError:
            choices, usage = get(chunk, "choices"), get(chunk, "usage")
        if usage is not None:
            self._usage = usage
            if self._hide_usage and not choices:
                return False
        if choices and isinstance(choices, list):
            if self._kind == CHAT:
                for choice in choices:
                    self._on_chat_choice(choice)
            else:
                for choice in choices:
                    self._on_choice(choice, False)
        self._chunks += 1
        return True

    def _on_chat_choice(self, choice: Any) -> None:
        try:
            index, reason, delta = _choice_fields(choice)
        except AttributeError:  # a mapping, or an object missing a field
            self._on_choice(choice, True)
            return
        acc = self._choices.get(index if isinstance(index, int) else 0)
        if acc is None:
            acc = self._choices[index if isinstance(index, int) else 0] = _Choice()
        if reason is not None:
            acc.finish_reason = reason
        if delta is None:
            return
        try:
            content, refusal, tool_calls = _delta_fields(delta)
        except AttributeError:
            content = get(delta, "content")
            refusal = get(delta, "refusal")
            tool_calls = get(delta, "tool_calls")
        if content is not None and isinstance(content, str):
            acc.text.append(content)
        if refusal is not None and isinstance(refusal, str):
            acc.refusal.append(refusal)
        if tool_calls and isinstance(tool_calls, list):
            for call in tool_calls:
                acc.add_tool_call(call)

    def _on_choice(self, choice: Any, chat: bool) -> None:
        index = get(choice, "index")
        index = index if isinstance(index, int) else 0
        acc = self._choices.get(index)
        if acc is None:
            acc = self._choices[index] = _Choice()
        reason = get(choice, "finish_reason")
        if reason is not None:
            acc.finish_reason = reason
        if not chat:
            text = get(choice, "text")
            if isinstance(text, str):
                acc.text.append(text)
            return
        delta = get(choice, "delta")
        if delta is None:
            return
        content = get(delta, "content")
        if isinstance(content, str):
            acc.text.append(content)
        refusal = get(delta, "refusal")
        if isinstance(refusal, str):
            acc.refusal.append(refusal)
        tool_calls = get(delta, "tool_calls")
        if tool_calls and isinstance(tool_calls, list):
            for call in tool_calls:
                acc.add_tool_call(call)

    def _on_event(self, event: Any) -> None:
        kind = get(event, "type")
        if not isinstance(kind, str):
            return
        if kind == "response.output_text.delta":
            delta = get(event, "delta")
            if isinstance(delta, str):
                self._text.append(delta)
        elif kind in _FINAL_EVENTS:
            self._final = get(event, "response")
        elif kind in _START_EVENTS:
            self._last = get(event, "response")

    # -- once, at the end --------------------------------------------------------------------
    def on_end(self, error: BaseException | None, abandoned: bool) -> None:
        inv = self.inv
        try:
            if self._kind == RESPONSES:
                self._finish_responses()
            else:
                self._finish_choices()
            inv.attributes[semconv.LLMTRACE_STREAM_CHUNKS] = self._chunks
            if abandoned:
                inv.attributes[semconv.LLMTRACE_STREAM_ABANDONED] = True
            if error is not None:
                code = status_code_of(error)
                if code is not None:
                    inv.attributes[semconv.HTTP_RESPONSE_STATUS_CODE] = code
        finally:
            if error is None:
                inv.stop()
            else:
                inv.fail(error)

    def _finish_choices(self) -> None:
        inv = self.inv
        first, last = self._first, self._last
        for chunk in (first, last) if first is not last else (first,):
            if chunk is None:
                continue
            read = reader(chunk)
            inv.response_id = inv.response_id or _str(read("id", None))
            inv.response_model = inv.response_model or _str(read("model", None))
            inv.system_fingerprint = (
                _str(read("system_fingerprint", None)) or inv.system_fingerprint
            )
            inv.response_service_tier = (
                _str(read("service_tier", None)) or inv.response_service_tier
            )
        choices = [self._choices[i] for i in sorted(self._choices)]
        reasons = [c.finish_reason for c in choices if isinstance(c.finish_reason, str)]
        inv.finish_reasons = reasons or None
        set_tool_calls(inv, [n for c in choices for _, n, _ in c.tool_calls.values() if n])
        inv.usage = usage_from_openai(self._usage)
        if inv.usage is None and (self._chunks or self._estimate_input is not None):
            output = "".join(c.output_text() for c in choices)
            inv.usage = estimate_usage(
                inv.response_model or inv.request_model, self._estimate_input, output
            )
        if inv.capture_content:
            inv.output_messages = [c.message() for c in choices]

    def _finish_responses(self) -> None:
        inv = self.inv
        if self._final is not None:
            apply_response(inv, RESPONSES, self._final)
        elif self._last is not None:
            inv.response_id = _str(get(self._last, "id"))
            inv.response_model = _str(get(self._last, "model"))
            if inv.capture_content:
                text = [{"type": "text", "content": "".join(self._text)}] if self._text else []
                inv.output_messages = [
                    {"role": "assistant", "parts": text, "finish_reason": "error"}
                ]
        if inv.usage is None and (self._chunks or self._estimate_input is not None):
            inv.usage = estimate_usage(
                inv.response_model or inv.request_model, self._estimate_input, "".join(self._text)
            )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
