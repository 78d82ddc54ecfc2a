"""Hostile responses (missing usage, unknown events and blocks, wrong types, truncated
streams) never raise into the app. The suite runs llmtrace in strict mode, where an
internal error would raise: each test passing proves the guard was not needed."""

from __future__ import annotations

import json

import pytest

from llmtrace import semconv
from tests.support.anthropic_server import MODEL, message, sse, text_stream_events

HI = [{"role": "user", "content": "Hi"}]


def attributes(span):
    return dict(span.attributes or {})


def test_message_without_usage(server, captured_content):
    body = message()
    del body["usage"]
    server.add(body)
    server.client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    (span,) = captured_content.spans
    a = attributes(span)
    assert semconv.GEN_AI_USAGE_INPUT_TOKENS not in a
    assert a[semconv.GEN_AI_RESPONSE_ID] == "msg_01"


def test_usage_fields_of_the_wrong_type_are_ignored(server, captured):
    server.add(
        message(
            usage={
                "input_tokens": "many",
                "output_tokens": -3,
                "cache_read_input_tokens": 4.0,
                "cache_creation_input_tokens": None,
            }
        )
    )
    server.client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    a = attributes(captured.spans[0])
    assert a[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 4
    assert a[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 4
    assert semconv.GEN_AI_USAGE_OUTPUT_TOKENS not in a


def test_unknown_content_blocks_and_stop_reason(server, captured_content):
    server.add(
        message(
            [{"type": "hologram", "beam": 3}, {"type": "text", "text": None}, "loose string"],
            stop_reason="pause_turn",
        )
    )
    server.client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    a = attributes(captured_content.spans[0])
    (output,) = json.loads(a[semconv.GEN_AI_OUTPUT_MESSAGES])
    assert output["parts"][0] == {"type": "hologram"}
    assert output["finish_reason"] == "pause_turn"
    assert a[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("pause_turn",)


def test_hostile_request_arguments_are_skipped(server, captured_content):
    server.add(message())
    server.client().messages.create(
        model=MODEL,
        max_tokens=10,
        messages=[{"role": "user", "content": [{"type": "image", "source": None}, 42]}],
        stop_sequences=["ok", 3],  # type: ignore[list-item]
        system=[{"type": "text"}],
        tools=[None],  # type: ignore[list-item]
    )
    a = attributes(captured_content.spans[0])
    assert semconv.GEN_AI_REQUEST_STOP_SEQUENCES not in a
    assert json.loads(a[semconv.GEN_AI_INPUT_MESSAGES])[0]["role"] == "user"


def test_stream_without_usage_is_estimated_and_flagged(server, captured):
    events = text_stream_events()
    start = events[0][1]["message"]
    del start["usage"]
    del events[-2][1]["usage"]
    server.add(events=events)
    for _ in server.client().messages.create(model=MODEL, max_tokens=10, messages=HI, stream=True):
        pass
    a = attributes(captured.spans[0])
    assert a[semconv.LLMTRACE_USAGE_ESTIMATED] is True
    assert a[semconv.GEN_AI_USAGE_INPUT_TOKENS] > 0
    assert a[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] > 0


def test_unknown_event_types_are_ignored(server, captured_content):
    events = text_stream_events()
    events.insert(2, ("future_event", {"type": "future_event", "payload": [1, 2]}))
    server.add(events=events)
    with server.client().messages.stream(model=MODEL, max_tokens=10, messages=HI) as stream:
        text = stream.get_final_text()
    assert text == "Hello!"
    a = attributes(captured_content.spans[0])
    assert a[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 7
    assert json.loads(a[semconv.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [
        {"type": "text", "content": "Hello!"}
    ]


def test_deltas_for_blocks_never_started(server, captured_content):
    # The helper's own accumulator raises on these; the raw stream passes them through.
    events = text_stream_events()
    events.insert(
        4,
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 7, "delta": {"type": "laser_delta"}},
        ),
    )
    events.insert(
        5,
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": "x",
                "delta": {"type": "text_delta", "text": 5},
            },
        ),
    )
    server.add(events=events)
    stream = server.client().messages.create(model=MODEL, max_tokens=10, messages=HI, stream=True)
    assert len(list(stream)) == len(events) - 1  # the ping is not an event
    a = attributes(captured_content.spans[0])
    assert json.loads(a[semconv.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [
        {"type": "text", "content": "Hello!"}
    ]


def test_stream_of_only_garbage_events(server, captured):
    payload = sse([("message_start", {"type": "message_start", "message": None})])
    payload += b"event: content_block_delta\ndata: {}\n\n"
    server.add(events=payload)
    for _ in server.client().messages.create(model=MODEL, max_tokens=10, messages=HI, stream=True):
        pass
    (span,) = captured.spans
    assert attributes(span)[semconv.LLMTRACE_STREAM_CHUNKS] == 2


def test_stream_cut_before_any_event(server, captured):
    server.add(events=text_stream_events(), truncate_after=0)
    with pytest.raises(Exception) as raised:
        for _ in server.client().messages.create(
            model=MODEL, max_tokens=10, messages=HI, stream=True
        ):
            pass
    assert "llmtrace" not in type(raised.value).__module__
    (span,) = captured.spans
    assert attributes(span)[semconv.ERROR_TYPE] == type(raised.value).__qualname__


def test_raw_response_that_is_not_json(server, captured):
    server.script.append({"body": None, "status": 200, "events": b"", "truncate_after": None})
    raw = server.client().messages.with_streaming_response.create(
        model=MODEL, max_tokens=10, messages=HI
    )
    with raw as response:
        response.close()
    (span,) = captured.spans
    assert semconv.GEN_AI_USAGE_INPUT_TOKENS not in attributes(span)


def test_internal_errors_are_swallowed_in_production(server, captured, lenient, monkeypatch):
    from llmtrace.instrumentation.anthropic import _response

    def broken(*_args, **_kwargs):
        raise RuntimeError("bug in llmtrace")

    monkeypatch.setattr(_response, "usage_from_anthropic", broken)
    server.add(message())
    reply = server.client().messages.create(model=MODEL, max_tokens=10, messages=HI)
    assert reply.content[0].text == "Hello!"
    (span,) = captured.spans
    assert span.end_time is not None
