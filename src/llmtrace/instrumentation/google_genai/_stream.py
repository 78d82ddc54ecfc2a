"""Stream phase: accumulate ``generate_content_stream`` chunks, then finish the span once.

    hooks = GeminiStreamHooks(inv, contents)
    return StreamProxy(generator, hooks)       # or AsyncStreamProxy; _streams owns the lifecycle

Every chunk is a ``GenerateContentResponse``. Gemini repeats ``usage_metadata`` on
the chunks of a stream, the last one holding the totals. A stream with automatic
function calling spans several requests: the last usage of each is kept and they are
added up (automatic continuation needs nothing: the SDK already adds up its hops).
A stream with no usage at all (cut short, or a server that sent none) is counted
locally from the request and the text received, and flagged as estimated; so is
the output of a stream cut short before its last chunk (its input count is exact).
"""

from __future__ import annotations

from typing import Any

from ... import semconv
from ..._genai.lifecycle import LLMInvocation
from ..._genai.messages import as_list, as_str, get, output_message, reasoning_part, text_part
from ..._genai.tokens import Usage, estimate_usage, usage_from_gemini
from ..._streams import StreamHooks
from . import _messages as msg
from ._messages import field_of
from ._response import blocked_reason, set_tool_calls, status_code_of


def _round_of(chunk: Any) -> int:
    """Which request of an automatic-function-calling loop a chunk belongs to.

    From the second request on, the SDK puts the loop's history so far on each chunk;
    it grows with every request. Automatic continuation hops within one request are
    not told apart: the SDK already gives their chunks the usage of the hops before.
    """
    history = getattr(chunk, "automatic_function_calling_history", None)
    return len(history) if isinstance(history, list) else 0


class _Candidate:
    """What one streamed candidate said so far."""

    __slots__ = ("function_calls", "other", "reason", "text", "thoughts")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.thoughts: list[str] = []
        self.other: list[Any] = []  # non-text parts, as received
        self.function_calls: list[str] = []  # names
        self.reason: Any = None

    def add(self, candidate: Any) -> None:
        # One attribute read per field on the SDK's objects (this runs for every chunk);
        # a dict, or an object missing a field, takes the generic path.
        try:
            reason = candidate.finish_reason
            parts = candidate.content.parts if candidate.content is not None else None
        except AttributeError:
            reason = field_of(candidate, "finish_reason", "finishReason")
            parts = get(get(candidate, "content"), "parts")
        if reason is not None:
            self.reason = reason
        if not parts:
            return
        for part in parts if type(parts) is list else as_list(parts):
            try:
                text, thought = part.text, part.thought
            except AttributeError:
                text, thought = get(part, "text"), get(part, "thought")
            if isinstance(text, str):
                (self.thoughts if thought is True else self.text).append(text)
                continue
            call = field_of(part, "function_call", "functionCall")
            if call is not None:
                name = get(call, "name")
                self.function_calls.append(name if isinstance(name, str) else "")
            self.other.append(part)

    def finish_reason(self) -> str:
        return msg.finish_reason_of(self.reason, bool(self.function_calls))

    def message(self) -> dict[str, Any]:
        parts: list[Any] = []
        if self.thoughts:
            parts.append(reasoning_part("".join(self.thoughts)))
        if self.text:
            parts.append(text_part("".join(self.text)))
        parts.extend(msg.part_of(p) for p in self.other)
        return dict(output_message(parts, self.finish_reason()))

    def output_text(self) -> str:
        return "".join(self.thoughts) + "".join(self.text) + "".join(self.function_calls)


class GeminiStreamHooks(StreamHooks):
    """Accumulates the chunks of one ``generate_content_stream`` call."""

    __slots__ = (
        "_blocked",
        "_candidates",
        "_chunks",
        "_contents",
        "_first_id",
        "_model",
        "_usage",
        "inv",
    )

    def __init__(self, inv: LLMInvocation, contents: Any) -> None:
        self.inv = inv
        self._contents = contents
        self._chunks = 0
        self._usage: dict[int, Any] = {}  # request of the loop -> its last usage_metadata
        self._candidates: dict[int, _Candidate] = {}
        self._blocked: str | None = None
        self._first_id: Any = None  # the first response id seen (as received)
        self._model: Any = None  # the last model version seen (as received)

    def on_chunk(self, chunk: Any) -> bool:
        if self._chunks == 0:
            self.inv.mark_first_chunk()
        self._chunks += 1
        # As in _Candidate.add: one attribute read per field; ids and model are checked
        # once, at the end.
        try:
            response_id = chunk.response_id
            model = chunk.model_version
            usage = chunk.usage_metadata
            candidates = chunk.candidates
        except AttributeError:
            response_id = field_of(chunk, "response_id", "responseId")
            model = field_of(chunk, "model_version", "modelVersion")
            usage = field_of(chunk, "usage_metadata", "usageMetadata")
            candidates = get(chunk, "candidates")
        if response_id is not None and self._first_id is None:
            self._first_id = response_id
        if model is not None:
            self._model = model
        if usage is not None:
            self._usage[_round_of(chunk)] = usage
        if candidates:
            accumulators = self._candidates
            for candidate in candidates if type(candidates) is list else as_list(candidates):
                index = get(candidate, "index")
                index = index if isinstance(index, int) else 0
                acc = accumulators.get(index)
                if acc is None:
                    acc = accumulators[index] = _Candidate()
                acc.add(candidate)
        elif self._blocked is None:
            self._blocked = blocked_reason(chunk)
        return True

    def on_end(self, error: BaseException | None, abandoned: bool) -> None:
        inv = self.inv
        try:
            self._finish()
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

    def _finish(self) -> None:
        inv = self.inv
        inv.response_id = as_str(self._first_id) or inv.response_id
        inv.response_model = as_str(self._model) or inv.response_model
        candidates = [self._candidates[i] for i in sorted(self._candidates)]
        reasons = [c.finish_reason() for c in candidates if c.reason is not None]
        if not reasons and self._blocked is not None:
            reasons = [self._blocked]
        inv.finish_reasons = reasons or None
        set_tool_calls(inv, [name for c in candidates for name in c.function_calls if name])
        usage = self._total_usage()
        cut_short = not reasons
        if self._chunks and (usage is None or (usage.output_tokens is None and cut_short)):
            # No usage, or a stream cut short before the chunk with the output count.
            output = "".join(c.output_text() for c in candidates)
            model = inv.response_model or inv.request_model
            if usage is None:
                usage = estimate_usage(model, msg.input_messages(self._contents), output)
            else:
                usage.output_tokens = estimate_usage(model, None, output).output_tokens
                usage.estimated = True
        inv.usage = usage
        if inv.capture_content and inv.is_recording:
            inv.output_messages = [c.message() for c in candidates]

    def _total_usage(self) -> Usage | None:
        usages = [u for u in map(usage_from_gemini, self._usage.values()) if u is not None]
        if len(usages) <= 1:
            return usages[0] if usages else None
        total = Usage()
        for field in (
            "input_tokens",
            "output_tokens",
            "cache_read_input_tokens",
            "reasoning_output_tokens",
        ):
            counts = [getattr(u, field) for u in usages if getattr(u, field) is not None]
            setattr(total, field, sum(counts) if counts else None)
        return total
