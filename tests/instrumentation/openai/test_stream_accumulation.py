"""Stream chunk accumulation on plain data: what a chat stream's chunks add up to."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.chat import ChatCompletionChunk

from llmtrace._genai.lifecycle import LLMInvocation
from llmtrace.instrumentation.openai._stream import OpenAIStreamHooks
from tests.support import openai_bodies as bodies

MESSAGES = [{"role": "user", "content": "Say hello"}]


def sdk_chunks(events: list[dict[str, Any]]) -> list[ChatCompletionChunk]:
    """The chunks as the SDK hands them out (validated pydantic objects)."""
    return [ChatCompletionChunk.model_validate(event) for event in events]


def accumulate(
    chunks: list[Any], *, capture: bool = True, estimate_input: Any = None
) -> tuple[LLMInvocation, list[bool]]:
    """Feed ``chunks`` to fresh hooks and finish; the invocation and what each chunk returned."""
    inv = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o-mini")
    inv.capture_content = capture
    hooks = OpenAIStreamHooks(inv, "chat", True, estimate_input)
    shown = [hooks.on_chunk(chunk) for chunk in chunks]
    hooks._finish_choices()
    return inv, shown


def text_of(inv: LLMInvocation, choice: int = 0) -> list[dict[str, Any]]:
    assert inv.output_messages is not None
    return [p for p in inv.output_messages[choice]["parts"] if p["type"] == "text"]


def test_a_full_stream_adds_up_to_the_answer_and_hides_only_the_usage_chunk():
    inv, shown = accumulate(sdk_chunks(bodies.chat_stream(("Hello", " there", "!"))))
    assert shown == [True] * 5 + [False]
    assert text_of(inv) == [{"type": "text", "content": "Hello there!"}]
    assert inv.finish_reasons == ["stop"]
    assert inv.usage is not None and not inv.usage.estimated
    assert (inv.usage.input_tokens, inv.usage.output_tokens) == (12, 4)


def test_text_is_kept_without_content_capture_for_the_estimate_of_a_cut_stream():
    chunks = sdk_chunks(bodies.chat_stream(("Hello", " there"), usage=False)[:-1])
    inv, _ = accumulate(chunks, capture=False, estimate_input=MESSAGES)
    assert inv.output_messages is None
    assert inv.finish_reasons == ["error"]  # conventions: the choice never finished
    assert inv.usage is not None and inv.usage.estimated
    assert inv.usage.output_tokens == 2  # "Hello there"


def test_ids_come_from_the_first_chunk_and_fingerprint_and_tier_from_the_last():
    events = bodies.chat_stream(("Hi",), usage=False)
    events[0] |= {"id": "first-id", "model": "first-model", "system_fingerprint": "fp_first"}
    events[-1] |= {"id": "last-id", "model": "last-model", "system_fingerprint": "fp_last"}
    events[-1]["service_tier"] = None  # absent on the last chunk: the first one's is kept
    events[0]["service_tier"] = "flex"
    inv, _ = accumulate(sdk_chunks(events))
    assert (inv.response_id, inv.response_model) == ("first-id", "first-model")
    assert (inv.system_fingerprint, inv.response_service_tier) == ("fp_last", "flex")


def test_ids_missing_from_the_first_chunk_are_taken_from_the_last():
    events = bodies.chat_stream(("Hi",), usage=False)
    events[0] |= {"id": "", "model": None}
    inv, _ = accumulate([ChatCompletionChunk.model_construct(**e) for e in events])
    assert (inv.response_id, inv.response_model) == ("chatcmpl-stream1", "gpt-4o-mini-2024-07-18")


def test_choices_are_accumulated_apart_and_reported_in_index_order():
    events = [
        bodies.chat_chunk({"content": "B1"}, index=1),
        bodies.chat_chunk({"content": "A1"}, index=0),
        bodies.chat_chunk({"content": "B2"}, "length", index=1),
        bodies.chat_chunk({"content": "A2"}, "stop", index=0),
    ]
    inv, _ = accumulate(sdk_chunks(events))
    assert inv.finish_reasons == ["stop", "length"]
    assert text_of(inv, 0) == [{"type": "text", "content": "A1A2"}]
    assert text_of(inv, 1) == [{"type": "text", "content": "B1B2"}]


@pytest.mark.parametrize("index", ["1", 1.0, None])
def test_a_choice_index_that_is_not_an_int_counts_as_choice_zero(index: Any):
    chunk = bodies.chat_chunk({"content": "odd"})
    chunk["choices"][0]["index"] = index
    events = [bodies.chat_chunk({"content": "one "}, index=1), chunk]
    inv, _ = accumulate([ChatCompletionChunk.model_construct(**e) for e in events])
    assert text_of(inv, 0) == [{"type": "text", "content": "odd"}]
    assert text_of(inv, 1) == [{"type": "text", "content": "one "}]


def test_text_pieces_that_are_not_strings_are_skipped():
    events = [bodies.chat_chunk({"content": "Hel"}), bodies.chat_chunk({"content": "lo"}, "stop")]
    objects = [ChatCompletionChunk.model_construct(**e) for e in events]
    objects[0].choices[0].delta.content = 42  # type: ignore[assignment]
    objects.insert(0, ChatCompletionChunk.model_construct(**bodies.chat_chunk({"refusal": 7})))
    inv, _ = accumulate(objects, estimate_input=MESSAGES)
    assert inv.output_messages is not None
    assert inv.output_messages[0]["parts"] == [{"type": "text", "content": "lo"}]


def test_only_pieces_that_are_not_strings_give_no_text_part():
    chunk = ChatCompletionChunk.model_construct(**bodies.chat_chunk({"content": ["x"]}, "stop"))
    inv, _ = accumulate([chunk])
    assert inv.output_messages is not None
    assert inv.output_messages[0]["parts"] == []


def test_a_refusal_is_accumulated_next_to_the_text():
    events = [
        bodies.chat_chunk({"role": "assistant", "content": "", "refusal": None}),
        bodies.chat_chunk({"refusal": "I can't"}),
        bodies.chat_chunk({"refusal": " help."}, "stop"),
    ]
    inv, _ = accumulate(sdk_chunks(events))
    assert inv.output_messages is not None
    assert inv.output_messages[0]["parts"] == [
        {"type": "text", "content": ""},
        {"type": "refusal", "content": "I can't help."},
    ]
