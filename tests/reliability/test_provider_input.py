"""Property tests: whatever shape OpenAI or LangChain hand back, llmtrace never raises and
every span ends.

Responses and stream chunks are generated two ways: arbitrary JSON built from the keys
the extractors look for (so wrong types land where fields are expected), and realistic
bodies with fields dropped, replaced, duplicated, reordered or added. The suite runs in
strict mode, so an exception inside llmtrace fails the test instead of being logged.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmtrace import semconv
from llmtrace._genai.lifecycle import LLMInvocation
from llmtrace._runtime import runtime
from llmtrace.testing import SpanCapture, capture_spans
from tests.support.reliability import Figures, OpenAIHandler, chat_body, chat_chunks, openai_client

pytest.importorskip("openai")
pytest.importorskip("langchain_core")

from opentelemetry.instrumentation.utils import suppress_instrumentation

from llmtrace.instrumentation.openai import (
    instrument_openai,
    uninstrument_openai,
)
from llmtrace.instrumentation.openai._request import (
    CHAT,
    COMPLETION,
    EMBEDDINGS,
    RESPONSES,
)
from llmtrace.instrumentation.openai._response import apply_response
from llmtrace.instrumentation.openai._stream import OpenAIStreamHooks

FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
# Dumping deliberately malformed SDK objects makes pydantic warn; that is the point.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:pydantic")

OPENAI_KEYS = [
    "id", "model", "object", "choices", "usage", "message", "content", "role", "tool_calls",
    "function", "name", "arguments", "finish_reason", "index", "delta", "prompt_tokens",
    "completion_tokens", "total_tokens", "prompt_tokens_details", "cached_tokens",
    "completion_tokens_details", "reasoning_tokens", "audio_tokens", "output", "type", "text",
    "status", "incomplete_details", "reason", "data", "embedding", "service_tier",
    "system_fingerprint", "refusal", "logprobs", "response", "input_tokens", "output_tokens",
    "input_tokens_details", "output_tokens_details", "annotations", "audio", "conversation",
    "function_call", "custom", "summary", "call_id", "parts", "url", "image_url", "file",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["stop", "length", "tool_calls", "completed", "incomplete", "failed",
                     "chat.completion", "response.output_text.delta", "response.completed",
                     "function_call", "message", "output_text", "\ud83d\ude00", ""]),
)  # fmt: skip
keys = st.one_of(st.sampled_from(OPENAI_KEYS), st.text(max_size=8))


def json_like(leaves: st.SearchStrategy[Any] = scalars) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=6)
        ),
        max_leaves=25,
    )


@st.composite
def mutated(draw: st.DrawFn, value: Any, depth: int = 0) -> Any:
    """``value`` with fields dropped, replaced by anything, or added; lists reshuffled."""
    action = draw(st.sampled_from(["keep", "keep", "recurse", "recurse", "replace"]))
    if action == "replace" or depth > 6:
        return draw(json_like()) if action == "replace" else value
    if action == "keep":
        return value
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if draw(st.integers(0, 9)) == 0:
                continue  # dropped
            out[key] = draw(mutated(item, depth + 1))
        if draw(st.booleans()):
            out[draw(keys)] = draw(json_like())  # unknown or misplaced field
        return out
    if isinstance(value, list):
        items = [draw(mutated(item, depth + 1)) for item in value]
        if items and draw(st.booleans()):
            items.append(items[draw(st.integers(0, len(items) - 1))])  # duplicated
        return draw(st.permutations(items)) if draw(st.booleans()) else items
    return value


def responses_body() -> dict[str, Any]:
    return {
        "id": "resp_1", "object": "response", "model": "gpt-4o-mini", "status": "completed",
        "output": [
            {"type": "message", "role": "assistant",
             "content": [{"type": "output_text", "text": "hi", "annotations": []}]},
            {"type": "function_call", "name": "f", "arguments": "{}", "call_id": "c1"},
        ],
        "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5,
                  "input_tokens_details": {"cached_tokens": 1},
                  "output_tokens_details": {"reasoning_tokens": 0}},
    }  # fmt: skip


REALISTIC = {
    CHAT: chat_body(),
    COMPLETION: {"id": "c", "model": "m", "choices": [{"text": "x", "finish_reason": "stop"}],
                 "usage": {"prompt_tokens": 1, "completion_tokens": 1}},
    RESPONSES: responses_body(),
    EMBEDDINGS: {"data": [{"embedding": [0.1, 0.2], "index": 0}], "model": "e",
                 "usage": {"prompt_tokens": 2, "total_tokens": 2}},
}  # fmt: skip
KINDS = [CHAT, COMPLETION, RESPONSES, EMBEDDINGS]


def _started(capture_content: bool, kind: str) -> LLMInvocation:
    inv = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o-mini")
    assert inv.start()
    inv.capture_content = capture_content
    return inv


JSON_KEYS = (
    semconv.GEN_AI_INPUT_MESSAGES,
    semconv.GEN_AI_OUTPUT_MESSAGES,
    semconv.GEN_AI_SYSTEM_INSTRUCTIONS,
    semconv.GEN_AI_TOOL_DEFINITIONS,
)


def _one_ended_span(captured: SpanCapture) -> None:
    """One span, ended, its JSON attributes parse and fit the size budget."""
    spans = captured.spans
    assert len(spans) == 1 and spans[0].end_time is not None
    attributes = dict(spans[0].attributes or {})
    for key in JSON_KEYS:
        if key in attributes:
            text = attributes[key]
            assert isinstance(text, str)
            json.loads(text)
            assert len(text.encode("utf-8", "surrogatepass")) <= runtime.max_attribute_bytes


@st.composite
def response_data(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    data = draw(st.one_of(json_like(), mutated(REALISTIC[kind])))
    return kind, data


@FAST
@given(case=response_data(), capture=st.booleans())
def test_response_extraction_never_raises_and_the_span_ends(
    case: tuple[str, Any], capture: bool
) -> None:
    kind, data = case
    with capture_spans(capture_content=capture) as captured:
        inv = _started(capture, kind)
        apply_response(inv, kind, data)
        inv.stop()
        _one_ended_span(captured)
    Figures.add("bad_input.openai_responses", 1)


@st.composite
def chunk_streams(draw: st.DrawFn) -> tuple[str, list[Any]]:
    kind = draw(st.sampled_from([CHAT, COMPLETION, RESPONSES]))
    if kind == RESPONSES:
        realistic: list[Any] = [
            {"type": "response.created", "response": {"id": "r", "model": "m"}},
            {"type": "response.output_text.delta", "delta": "he"},
            {"type": "response.output_text.delta", "delta": "llo"},
            {"type": "response.completed", "response": responses_body()},
        ]
    else:
        realistic = chat_chunks()
    chunks = draw(st.one_of(st.lists(json_like(), max_size=8), mutated(realistic)))
    return kind, chunks if isinstance(chunks, list) else [chunks]


@FAST
@given(
    case=chunk_streams(), capture=st.booleans(), ending=st.sampled_from(["end", "error", "abandon"])
)
def test_stream_accumulation_never_raises_and_the_span_ends(
    case: tuple[str, list[Any]], capture: bool, ending: str
) -> None:
    kind, chunks = case
    with capture_spans(capture_content=capture) as captured:
        inv = _started(capture, kind)
        hooks = OpenAIStreamHooks(inv, kind, hide_usage_chunk=True, estimate_input=chunks[:1])
        for chunk in chunks:
            assert hooks.on_chunk(chunk) in (True, False)
        hooks.on_end(RuntimeError("cut") if ending == "error" else None, ending == "abandon")
        _one_ended_span(captured)
    Figures.add("bad_input.openai_streams", 1)


@pytest.fixture
def openai_instrumented() -> Iterator[None]:
    instrument_openai()
    try:
        yield
    finally:
        uninstrument_openai()


def _outcome(call: Any) -> tuple[str, Any]:
    """What the caller sees: the result's JSON, or the exception's type."""
    try:
        result = call()
        if hasattr(result, "__iter__") and not hasattr(result, "model_dump"):
            return "stream", [c.model_dump_json() for c in result]
        return "value", result.model_dump_json()
    except Exception as exc:
        return "raised", type(exc).__name__


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(json_like(), mutated(chat_body())),
       chunks=st.one_of(st.lists(json_like(), max_size=5), mutated(chat_chunks())),
       stream=st.booleans())  # fmt: skip
def test_the_real_client_behaves_exactly_as_without_llmtrace(
    openai_instrumented: None, body: Any, chunks: Any, stream: bool
) -> None:
    """The SDK does not validate responses: odd shapes reach our extractors as objects."""
    handler = OpenAIHandler(body=body, chunks=chunks if isinstance(chunks, list) else [chunks])
    client = openai_client(handler)

    def call() -> Any:
        return client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=stream
        )

    with suppress_instrumentation():
        plain = _outcome(call)
    with capture_spans(capture_content=True) as captured:
        traced = _outcome(call)
        assert len(captured.spans) == 1 and captured.spans[0].end_time is not None
    assert traced == plain
    Figures.add("bad_input.openai_client_roundtrips", 1)


# -- LangChain ----------------------------------------------------------------------------
#
# LangChain validates its objects (pydantic), so a real integration hands the handler
# dicts where dicts are declared, but anything inside them. Strict tests keep to those
# container types with arbitrary contents; lenient tests (production guard) break the
# types too, and must still never raise and still end every span.

lc_keys = st.one_of(
    st.sampled_from(["id", "name", "kwargs", "lc", "type", "model_name", "model", "ls_provider",
                     "ls_model_name", "ls_temperature", "ls_max_tokens", "ls_stop", "tools",
                     "temperature", "max_tokens", "stop", "_type", "token_usage",
                     "finish_reason", "stop_reason", "usage", "input_tokens", "output_tokens",
                     "prompt_tokens", "completion_tokens", "system_fingerprint", "service_tier",
                     "template", "messages", "prompt", "llmtrace.prompt.name", "seed", "top_p",
                     "top_k", "n", "stream", "response_format", "tool_choice"]),
    st.text(max_size=8),
)  # fmt: skip
lc_json = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(lc_keys, inner, max_size=6)
    ),
    max_leaves=25,
)
lc_dict = st.dictionaries(lc_keys, lc_json, max_size=6)
optional_dict = st.one_of(st.none(), lc_dict)
anything = st.one_of(optional_dict, lc_json)
token_counts = st.one_of(st.none(), st.integers(0, 2**40))


@st.composite
def lc_messages(draw: st.DrawFn, typed: bool) -> list[Any]:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

    def message() -> Any:
        text = st.text(max_size=40)
        content = draw(st.one_of(text, st.lists(st.one_of(text, lc_dict), max_size=3)))
        kind = draw(st.sampled_from(["human", "ai", "system", "tool"]))
        if kind == "human":
            return HumanMessage(content=content)
        if kind == "system":
            return SystemMessage(content=content)
        if kind == "tool":
            return ToolMessage(content=content, tool_call_id=draw(st.text(max_size=5)))
        usage = None
        if draw(st.booleans()):
            i, o = draw(token_counts) or 0, draw(token_counts) or 0
            usage = {"input_tokens": i, "output_tokens": o, "total_tokens": i + o}
        return AIMessage(
            content=content,
            response_metadata=draw(lc_dict),
            usage_metadata=usage,
            additional_kwargs=draw(lc_dict),
        )

    messages = [message() for _ in range(draw(st.integers(0, 4)))]
    if not typed:
        messages += draw(st.lists(lc_json, max_size=2))
    return messages


@st.composite
def llm_results(draw: st.DrawFn, typed: bool) -> Any:
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, Generation, LLMResult

    if not typed and draw(st.integers(0, 3)) == 0:
        return draw(lc_json)  # not an LLMResult at all
    generations: list[Any] = []
    for message in draw(lc_messages(typed=True)):
        info = draw(optional_dict)
        if isinstance(message, AIMessage) and draw(st.booleans()):
            generations.append(ChatGeneration(message=message, generation_info=info))
        else:
            generations.append(Generation(text=draw(st.text(max_size=20)), generation_info=info))
    if not typed:
        return LLMResult.model_construct(
            generations=draw(st.one_of(st.just([generations]), lc_json)),
            llm_output=draw(anything),
        )
    return LLMResult.model_construct(generations=[generations], llm_output=draw(optional_dict))


def _run_llm(
    serialized: Any, messages: Any, metadata: Any, params: Any, tags: Any, tokens: list[Any],
    result: Any, chat: bool, capture: bool, fails: bool,
) -> None:  # fmt: skip
    from llmtrace.instrumentation.langchain import LLMTraceCallbackHandler
    from llmtrace.instrumentation.langchain._runs import registry

    handler = LLMTraceCallbackHandler()
    chain_id, llm_id = uuid.uuid4(), uuid.uuid4()
    prompts = [m if isinstance(m, str) else repr(m) for m in messages]
    with capture_spans(capture_content=capture) as captured:
        handler.on_chain_start(serialized, messages, run_id=chain_id, tags=tags,
                               metadata=metadata)  # fmt: skip
        start = handler.on_chat_model_start if chat else handler.on_llm_start
        start(serialized, [messages] if chat else prompts, run_id=llm_id,
              parent_run_id=chain_id, tags=tags, metadata=metadata, invocation_params=params,
              options=params)  # fmt: skip
        for token in tokens:
            handler.on_llm_new_token(token, run_id=llm_id, chunk=token)
        if fails:
            handler.on_llm_error(ValueError("failed"), run_id=llm_id)
        else:
            handler.on_llm_end(result, run_id=llm_id)
        handler.on_chain_end(result, run_id=chain_id)
        assert len(registry) == 0
        spans = captured.spans
        assert len(spans) == 2 and all(s.end_time is not None for s in spans)


@FAST
@given(
    serialized=optional_dict,
    messages=lc_messages(typed=True),
    metadata=optional_dict,
    params=optional_dict,
    tags=st.one_of(st.none(), st.lists(st.text(max_size=8), max_size=3)),
    tokens=st.lists(st.text(max_size=5), max_size=4),
    result=llm_results(typed=True),
    chat=st.booleans(),
    capture=st.booleans(),
    fails=st.booleans(),
)
def test_the_langchain_handler_reads_any_contents_without_raising(
    serialized: Any, messages: list[Any], metadata: Any, params: Any, tags: Any,
    tokens: list[Any], result: Any, chat: bool, capture: bool, fails: bool,
) -> None:  # fmt: skip
    _run_llm(serialized, messages, metadata, params, tags, tokens, result, chat, capture, fails)
    Figures.add("bad_input.langchain_runs", 1)


@FAST
@given(
    serialized=anything,
    messages=lc_messages(typed=False),
    metadata=anything,
    params=anything,
    tags=st.one_of(st.none(), lc_json),
    tokens=st.lists(lc_json, max_size=4),
    result=llm_results(typed=False),
    chat=st.booleans(),
    capture=st.booleans(),
    fails=st.booleans(),
)
def test_the_langchain_handler_survives_broken_types_and_ends_every_span(
    lenient: None, serialized: Any, messages: list[Any], metadata: Any, params: Any, tags: Any,
    tokens: list[Any], result: Any, chat: bool, capture: bool, fails: bool,
) -> None:  # fmt: skip
    _run_llm(serialized, messages, metadata, params, tags, tokens, result, chat, capture, fails)
    Figures.add("bad_input.langchain_runs_broken_types", 1)


@FAST
@given(
    serialized=optional_dict,
    tool_input=st.text(max_size=20),
    inputs=optional_dict,
    output=lc_json,
    documents=st.lists(st.tuples(st.text(max_size=30), lc_dict), max_size=4),
    capture=st.booleans(),
)
def test_tool_and_retriever_callbacks_never_raise(
    serialized: Any, tool_input: Any, inputs: Any, output: Any,
    documents: list[tuple[str, dict[str, Any]]], capture: bool,
) -> None:  # fmt: skip
    from langchain_core.documents import Document

    from llmtrace.instrumentation.langchain import LLMTraceCallbackHandler
    from llmtrace.instrumentation.langchain._runs import registry

    handler = LLMTraceCallbackHandler()
    tool_id, retriever_id = uuid.uuid4(), uuid.uuid4()
    docs = [Document(page_content=text, metadata=meta) for text, meta in documents]
    with capture_spans(capture_content=capture) as captured:
        handler.on_tool_start(serialized, tool_input, run_id=tool_id, inputs=inputs,
                              tool_call_id="call_1")  # fmt: skip
        handler.on_tool_end(output, run_id=tool_id)
        handler.on_retriever_start(serialized, tool_input, run_id=retriever_id)
        handler.on_retriever_end(docs, run_id=retriever_id)
        assert len(registry) == 0
        assert len(captured.spans) == 2
        assert all(s.end_time is not None for s in captured.spans)
    Figures.add("bad_input.langchain_tool_runs", 1)
