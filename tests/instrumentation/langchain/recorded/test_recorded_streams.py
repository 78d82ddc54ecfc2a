"""Streams stopped early on recorded traffic (issue 21, point 2): who reads the rest.

``chain.stream()`` on prompt | ChatOpenAI | StrOutputParser, three chunks taken,
then ``close()``: langchain-core itself reads the model's stream to the end
(the parser step's ``transform`` swallows the close and drains its input to
trace it), with llmtrace off exactly as with it on. llmtrace reads nothing
more: the model span records every chunk read (they were read, and paid for);
the root records that its caller stopped early, with the chunks delivered by
then. Async chains and a model streamed on its own stop at once, and their
model span is abandoned, not an error.

"What LangChain read" is counted by a plain callback handler (LangChain's own
``on_llm_new_token``), so it does not depend on llmtrace.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.prompts import PromptTemplate
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

import llmtrace
from llmtrace import semconv
from llmtrace.testing import SpanCapture, capture_spans
from tests.support.langchain_helpers import attrs
from tests.support.langchain_replay import RECORDINGS, Recording, ReplayServer, load_cassette
from tests.support.langchain_run_tree import RunTree
from tests.support.langchain_scenarios import (
    SOCKS,
    SOCKS_TEMPLATE,
    chat_openai,
    lcel_astream_closed_early,
    lcel_stream_closed_early,
)

CASSETTE = RECORDINGS / "openllmetry" / "test_lcel__test_stream.yaml"
TAKEN = 3


def recorded_stream() -> Recording:
    (recording,) = load_cassette(CASSETTE)
    return recording


def model_stream_closed_early(server: ReplayServer, config: dict[str, Any]) -> list[Any]:
    stream = chat_openai(server, model="gpt-4", temperature=0).stream("hi", config=config)
    taken = [next(stream) for _ in range(TAKEN)]
    stream.close()
    return taken


def chain_ending_with_model_closed_early(server: ReplayServer, config: dict[str, Any]) -> Any:
    model = chat_openai(server, model="gpt-4", temperature=0)
    stream = (PromptTemplate.from_template(SOCKS_TEMPLATE) | model).stream(SOCKS, config=config)
    taken = [next(stream) for _ in range(TAKEN)]
    stream.close()
    return taken


async def model_astream_closed_early(server: ReplayServer, config: dict[str, Any]) -> list[Any]:
    stream = chat_openai(server, model="gpt-4", temperature=0).astream("hi", config=config)
    taken = [await stream.__anext__() for _ in range(TAKEN)]
    await stream.aclose()
    return taken


def read_by_langchain(run: Callable[..., Any]) -> tuple[int, list[Any]]:
    """Run one replay; the chunks LangChain read from the model, and those the caller took."""
    tree = RunTree()
    with ReplayServer(load_cassette(CASSETTE)) as server:
        result = run(server, {"callbacks": [tree]})
        taken = asyncio.run(result) if asyncio.iscoroutine(result) else result
    return tree.new_tokens, taken


def with_llmtrace(run: Callable[..., Any]) -> tuple[int, list[Any], SpanCapture]:
    handle = llmtrace.init(exporter="none", metrics=False, console=False)
    assert {"openai", "langchain"} <= set(handle.instrumented)
    with capture_spans() as captured:
        read, taken = read_by_langchain(run)
    return read, taken, captured


def chat_span(captured: SpanCapture) -> ReadableSpan:
    (span,) = [
        s for s in captured.spans if attrs(s).get(semconv.GEN_AI_OPERATION_NAME) == semconv.OP_CHAT
    ]
    return span


def test_a_sync_chain_stream_closed_early_is_read_to_the_end_by_langchain_itself() -> None:
    chunks = len(recorded_stream().events())

    read_without, taken = read_by_langchain(lcel_stream_closed_early)
    assert len(taken) == TAKEN
    # LangChain (no llmtrace anywhere) read every chunk, plus its own closing empty chunk.
    assert read_without == chunks + 1

    read_with, taken, captured = with_llmtrace(lcel_stream_closed_early)
    assert len(taken) == TAKEN
    assert read_with == read_without  # llmtrace reads nothing more, nothing less

    # The model span: what was read from the wire (all of it, by LangChain).
    chat = attrs(chat_span(captured))
    assert chat[semconv.LLMTRACE_STREAM_CHUNKS] == chunks
    assert chat[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert semconv.LLMTRACE_STREAM_ABANDONED not in chat
    # The root: its caller stopped reading, after the chunks delivered by then.
    (root,) = captured.roots()
    assert root.status.status_code is StatusCode.UNSET
    assert attrs(root)[semconv.LLMTRACE_STREAM_ABANDONED] is True
    assert attrs(root)[semconv.LLMTRACE_STREAM_CHUNKS] == TAKEN


@pytest.mark.parametrize(
    "run",
    [
        lcel_astream_closed_early,
        chain_ending_with_model_closed_early,
        model_stream_closed_early,
        model_astream_closed_early,
    ],
    ids=["async_chain", "chain_ending_with_model", "model", "async_model"],
)
def test_other_streams_closed_early_stop_at_once_and_are_abandoned_not_failed(
    run: Callable[..., Any],
) -> None:
    read_without, taken = read_by_langchain(run)
    assert len(taken) == TAKEN
    assert read_without == TAKEN

    read_with, taken, captured = with_llmtrace(run)
    assert len(taken) == TAKEN
    assert read_with == TAKEN

    span = chat_span(captured)
    assert span.status.status_code is StatusCode.UNSET, attrs(span).get(semconv.ERROR_TYPE)
    assert semconv.ERROR_TYPE not in attrs(span)
    assert attrs(span)[semconv.LLMTRACE_STREAM_ABANDONED] is True
    assert attrs(span)[semconv.LLMTRACE_STREAM_CHUNKS] == TAKEN
    (root,) = captured.roots()
    assert root.status.status_code is StatusCode.UNSET
    assert attrs(root)[semconv.LLMTRACE_STREAM_ABANDONED] is True
    assert attrs(root)[semconv.LLMTRACE_STREAM_CHUNKS] == TAKEN
