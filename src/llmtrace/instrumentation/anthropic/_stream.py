"""Stream phase: accumulate Messages stream events, then finish the invocation once.

    hooks = AnthropicStreamHooks(inv, estimate_input=kwargs["messages"])
    return StreamProxy(stream, hooks)             # create(stream=True)
    return MessageStreamProxy(message_stream, hooks)   # the messages.stream() helper

The raw events (``message_start``, ``content_block_*``, ``message_delta``,
``message_stop``) carry everything: id and model and the input side of usage in
``message_start``, the stop reason and the final usage in ``message_delta``.
Usage is the server's, field by field (a later event's count replaces an
earlier one); only a stream that carried none is estimated locally and marked
``llmtrace.usage.estimated``. The helper's own events (``text``, ``thinking``,
``input_json``, ``citation``, ``signature``) repeat the deltas and are skipped;
unknown event types are ignored.

``MessageStreamProxy`` also routes ``text_stream``, ``until_done()``,
``get_final_message()`` and ``get_final_text()`` through the proxy, so the span
sees every event however the stream is read, and ends exactly once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Generic, TypeVar

from ..._genai.ending import RecordHooks, set_tool_calls
from ..._genai.lifecycle import LLMInvocation
from ..._genai.messages import as_str, finish_reason, get, output_message, text_part
from ..._genai.tokens import estimate_usage, usage_from_anthropic
from ..._streams import AsyncStreamProxy, StreamProxy
from . import _messages as msg

# Usage fields a message_start or message_delta event may carry (later ones win).
_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "output_tokens_details",
)
_TEXT_DELTAS = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "input_json_delta": "partial_json",
}


class _Block:
    """One content block as streamed: its start, and the pieces of its deltas."""

    __slots__ = ("pieces", "start")

    def __init__(self, start: Any) -> None:
        self.start = start
        self.pieces: list[str] = []

    def part(self) -> Any:
        kind = get(self.start, "type")
        text = "".join(self.pieces)
        if kind == "text":
            return text_part(text)
        if kind == "thinking":
            return msg.block_part({"type": "thinking", "thinking": text})
        if kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
            arguments = text if self.pieces else get(self.start, "input")
            block = {"type": kind, "id": get(self.start, "id"), "name": get(self.start, "name")}
            return msg.block_part({**block, "input": arguments})
        return msg.block_part(self.start)


class AnthropicStreamHooks(RecordHooks):
    """Accumulates the events of one Messages stream for one invocation."""

    __slots__ = (
        "_blocks",
        "_estimate_input",
        "_events",
        "_message",
        "_stop_reason",
        "_usage",
    )

    def __init__(self, inv: LLMInvocation, estimate_input: Any = None) -> None:
        self.inv = inv
        self._estimate_input = estimate_input
        self._events = 0
        self._message: Any = None
        self._stop_reason: Any = None
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, _Block] = {}

    # -- per event (hot path) ---------------------------------------------------------------
    def on_chunk(self, chunk: Any) -> bool:
        if not self._events:
            self.inv.mark_first_chunk()
        self._events += 1
        kind = get(chunk, "type")
        if kind == "content_block_delta":
            self._on_delta(chunk)
        elif kind == "content_block_start":
            index = get(chunk, "index")
            if isinstance(index, int):
                self._blocks[index] = _Block(get(chunk, "content_block"))
        elif kind == "message_delta":
            reason = get(get(chunk, "delta"), "stop_reason")
            if isinstance(reason, str):
                self._stop_reason = reason
            self._add_usage(get(chunk, "usage"))
        elif kind == "message_start":
            self._message = message = get(chunk, "message")
            self._add_usage(get(message, "usage"))
        return True

    def _on_delta(self, chunk: Any) -> None:
        # The text is needed for content, or for an estimate when no usage has come yet.
        if not self.inv.capture_content and self._usage:
            return
        index = get(chunk, "index")
        block = self._blocks.get(index) if isinstance(index, int) else None
        delta = get(chunk, "delta")
        key = _TEXT_DELTAS.get(get(delta, "type"))
        if block is not None and key is not None:
            piece = get(delta, key)
            if isinstance(piece, str):
                block.pieces.append(piece)

    def _add_usage(self, usage: Any) -> None:
        if usage is None:
            return
        for name in _USAGE_FIELDS:
            value = get(usage, name)
            if value is not None:
                self._usage[name] = value

    # -- once, at the end -------------------------------------------------------------------
    def chunk_count(self) -> int:
        return self._events

    def finish(self) -> None:
        inv = self.inv
        message = self._message
        if message is not None:
            inv.response_id = as_str(get(message, "id")) or inv.response_id
            inv.response_model = as_str(get(message, "model")) or inv.response_model
        if self._stop_reason is not None:
            inv.finish_reasons = [finish_reason(self._stop_reason)]
        blocks = [self._blocks[i] for i in sorted(self._blocks)]
        set_tool_calls(
            inv,
            [
                name
                for b in blocks
                if get(b.start, "type") == "tool_use"
                and isinstance(name := get(b.start, "name"), str)
            ],
        )
        inv.usage = usage_from_anthropic(self._usage) if self._usage else None
        if inv.usage is None and (self._events or self._estimate_input is not None):
            text = "".join(piece for b in blocks for piece in b.pieces)
            inv.usage = estimate_usage(
                inv.response_model or inv.request_model, self._estimate_input, text
            )
        if inv.capture_content:
            parts = [b.part() for b in blocks]
            inv.output_messages = [output_message(parts, finish_reason(self._stop_reason))]


T = TypeVar("T")


def _texts(events: Any) -> Iterator[str]:
    for event in events:
        if get(event, "type") == "content_block_delta":
            delta = get(event, "delta")
            if get(delta, "type") == "text_delta":
                yield get(delta, "text")


async def _async_texts(events: Any) -> AsyncIterator[str]:
    async for event in events:
        if get(event, "type") == "content_block_delta":
            delta = get(event, "delta")
            if get(delta, "type") == "text_delta":
                yield get(delta, "text")


class _TextStream(Generic[T]):
    """``text_stream``: the text deltas of the events read through the proxy (made once)."""

    _self_texts: T | None = None
    _self_texts_of: Callable[[Any], T]  # _texts or _async_texts

    @property
    def text_stream(self) -> T:
        texts = self._self_texts
        if texts is None:
            texts = self._self_texts = self._self_texts_of(self)
        return texts


class MessageStreamProxy(_TextStream[Iterator[str]], StreamProxy):
    """The ``messages.stream()`` helper's ``MessageStream``, read through the proxy."""

    _self_texts_of = staticmethod(_texts)

    def until_done(self) -> None:
        for _ in self:
            pass

    def get_final_message(self) -> Any:
        self.until_done()
        return self.__wrapped__.get_final_message()

    def get_final_text(self) -> str:
        self.until_done()
        text: str = self.__wrapped__.get_final_text()
        return text


class AsyncMessageStreamProxy(_TextStream[AsyncIterator[str]], AsyncStreamProxy):
    """The async ``messages.stream()`` helper's ``AsyncMessageStream``, read through the proxy."""

    _self_texts_of = staticmethod(_async_texts)

    async def until_done(self) -> None:
        async for _ in self:
            pass

    async def get_final_message(self) -> Any:
        await self.until_done()
        return await self.__wrapped__.get_final_message()

    async def get_final_text(self) -> str:
        await self.until_done()
        text: str = await self.__wrapped__.get_final_text()
        return text
