"""Stream phase: accumulate OpenAI stream chunks, then finish the invocation once.

    hooks = OpenAIStreamHooks(inv, endpoint.kind, hide_usage_chunk=True, estimate_input=messages)
    return StreamProxy(stream, hooks)       # llmtrace.streams does the lifecycle

Per chunk, the fields that can matter are read inline, one attribute each
(finish reason, text, refusal and tool-call deltas, usage) and kept as
received; text pieces are joined (skipping anything that is not a string) only
when the end needs the text: with content capture on, or for an estimate. Ids,
model and usage are worked out once, at the end. When the stream carries no
usage (the server ignores ``include_usage``, or the caller stopped early),
usage is estimated locally from the request and the received text and marked
``llmtrace.usage.estimated=true``.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from ..._genai.ending import RecordHooks, set_tool_calls
from ..._genai.lifecycle import LLMInvocation
from ..._genai.messages import as_str as _str
from ..._genai.tokens import estimate_usage, usage_from_openai
from . import _messages as msg
from ._messages import get
from ._request import CHAT, RESPONSES
from ._response import apply_response

_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_START_EVENTS = frozenset({"response.created", "response.in_progress"})
_DELTA_KEYS = ("content", "refusal", "tool_calls")
_ID_KEYS = ("id", "model", "system_fingerprint", "service_tier")
_id_fields = attrgetter(*_ID_KEYS)


class _Choice:
    """What one streamed choice said so far.

    Text pieces are appended as received (the SDK's objects hold ``str`` or None)
    and checked only when joined: most streams never need their text.
    """

    __slots__ = ("finish_reason", "refusal", "text", "tool_calls")

    def __init__(self) -> None:
        self.text: list[Any] = []
        self.refusal: list[Any] = []
        self.tool_calls: dict[int, list[Any]] = {}  # index -> [id, name, [argument pieces]]
        self.finish_reason: str | None = None

    def add_tool_calls(self, deltas: Any) -> None:
        if isinstance(deltas, list):
            for delta in deltas:
                self.add_tool_call(delta)

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
        text, refusal = _joined(self.text), _joined(self.refusal)
        if text is not None:
            parts.append({"type": "text", "content": text})
        if refusal is not None:
            parts.append({"type": "refusal", "content": refusal})
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
        pieces = [_joined(self.text) or "", _joined(self.refusal) or ""]
        for _, name, arguments in self.tool_calls.values():
            pieces.append(name or "")
            pieces.extend(arguments)
        return "".join(pieces)


def _reason_or_error(reason: Any) -> str:
    """A streamed choice's ``gen_ai.response.finish_reasons`` entry: "error" if unfinished."""
    return reason if isinstance(reason, str) else "error"


def _joined(pieces: list[Any]) -> str | None:
    """The text of the strings in ``pieces`` (others are skipped); None if there are none."""
    try:
        return "".join(pieces) if pieces else None
    except TypeError:
        strings = [piece for piece in pieces if isinstance(piece, str)]
        return "".join(strings) if strings else None


class OpenAIStreamHooks(RecordHooks):
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
        # Inline, one attribute read per field: this runs for every chunk. A mapping, or
        # an object missing a field, raises AttributeError and takes the generic path.
        try:
            choices = chunk.choices
            usage = chunk.usage
        except AttributeError:
            choices, usage = get(chunk, "choices"), get(chunk, "usage")
        if usage is not None:
            self._usage = usage
            if self._hide_usage and not choices:
                return False
        if choices and isinstance(choices, list):
            if self._kind != CHAT:  # legacy completions
                for choice in choices:
                    self._on_choice(choice, False)
                self._chunks += 1
                return True
            accumulators = self._choices
            for choice in choices:
                try:
                    index = choice.index
                    reason = choice.finish_reason
                    delta = choice.delta
                except AttributeError:
                    self._on_choice(choice, True)
                    continue
                try:
                    acc = accumulators[index] if isinstance(index, int) else self._choice(index)
                except KeyError:
                    acc = self._choice(index)
                if reason is not None:
                    acc.finish_reason = reason
                if delta is None:
                    continue
                try:
                    content = delta.content
                    refusal = delta.refusal
                    tool_calls = delta.tool_calls
                except AttributeError:
                    content, refusal, tool_calls = (get(delta, key) for key in _DELTA_KEYS)
                if content is not None:
                    acc.text.append(content)
                if refusal is not None:
                    acc.refusal.append(refusal)
                if tool_calls:
                    acc.add_tool_calls(tool_calls)
        self._chunks += 1
        return True

    def _choice(self, index: Any) -> _Choice:
        """The accumulator of choice ``index`` (0 for an index that is not an int)."""
        index = index if isinstance(index, int) else 0
        acc = self._choices.get(index)
        if acc is None:
            acc = self._choices[index] = _Choice()
        return acc

    def _on_choice(self, choice: Any, chat: bool) -> None:
        acc = self._choice(get(choice, "index"))
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
        if tool_calls:
            acc.add_tool_calls(tool_calls)

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
    def chunk_count(self) -> int:
        return self._chunks

    def finish(self) -> None:
        if self._kind == RESPONSES:
            self._finish_responses()
        else:
            self._finish_choices()

    def _finish_choices(self) -> None:
        inv = self.inv
        self._finish_ids()
        accumulators = self._choices
        choices = [accumulators[i] for i in sorted(accumulators)]
        # Conventions: a choice the stream ended before it finished (closed early, error,
        # connection reset) has finish reason "error", as its output message says.
        inv.finish_reasons = [_reason_or_error(c.finish_reason) for c in choices] or None
        set_tool_calls(inv, [n for c in choices for _, n, _ in c.tool_calls.values() if n])
        inv.usage = usage_from_openai(self._usage)
        if inv.usage is None and (self._chunks or self._estimate_input is not None):
            output = "".join(c.output_text() for c in choices)
            inv.usage = estimate_usage(
                inv.response_model or inv.request_model, self._estimate_input, output
            )
        if inv.capture_content:
            inv.output_messages = [c.message() for c in choices]

    def _finish_ids(self) -> None:
        """Id and model from the first chunk that has them; fingerprint and tier from the last."""
        inv = self.inv
        first, last = self._first, self._last
        for chunk in (first, last) if first is not last else (first,):
            if chunk is None:
                continue
            try:  # the SDK's chunk objects, in one C call
                values = _id_fields(chunk)
            except AttributeError:
                values = tuple(get(chunk, key) for key in _ID_KEYS)
            response_id, model, fingerprint, tier = (
                value if isinstance(value, str) else None for value in values
            )
            inv.response_id = inv.response_id or response_id
            inv.response_model = inv.response_model or model
            inv.system_fingerprint = fingerprint or inv.system_fingerprint
            inv.response_service_tier = tier or inv.response_service_tier

    def _finish_responses(self) -> None:
        inv = self.inv
        if self._final is not None:
            apply_response(inv, RESPONSES, self._final)
        else:  # ended before its final event: the conventions' "error" finish reason
            inv.finish_reasons = ["error"]
        if self._final is None and self._last is not None:
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
