"""Chat models and LLMs become LLM spans with the GenAI attributes, usage, cost and TTFT."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.language_models import FakeListChatModel, FakeListLLM, GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate
from opentelemetry.trace import SpanKind, StatusCode

from llmtrace import semconv
from tests.support.langchain_helpers import assert_one_trace, attrs, fake_chat, reply


class PricedFakeChatModel(GenericFakeChatModel):
    """A fake that reports itself as OpenAI's gpt-4o-mini, so the call gets a price."""

    temperature: float = 0.2
    max_tokens: int = 64

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params.update(ls_provider="openai", ls_model_name="gpt-4o-mini")
        return params

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": "gpt-4o-mini",
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }


class LegacyUsageChatModel(GenericFakeChatModel):
    """Reports usage only in llm_output["token_usage"], as older integrations do."""

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> Any:
        message = AIMessage(content="ok", response_metadata={"model_name": "legacy-1"})
        return ChatResult(
            generations=[
                ChatGeneration(message=message, generation_info={"finish_reason": "length"})
            ],
            llm_output={
                "token_usage": {"prompt_tokens": 11, "completion_tokens": 4},
                "model_name": "legacy-1",
            },
        )


def test_chat_model_span_carries_genai_attributes(captured, handler):
    model = PricedFakeChatModel(messages=iter([reply(model="gpt-4o-mini-2024-07-18")]))

    model.invoke("hi", config={"callbacks": [handler]})

    span = captured.find("chat gpt-4o-mini")
    assert span.kind is SpanKind.CLIENT
    a = attrs(span)
    assert a[semconv.GEN_AI_OPERATION_NAME] == semconv.OP_CHAT
    assert a[semconv.GEN_AI_PROVIDER_NAME] == "openai"
    assert a[semconv.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert a[semconv.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert a[semconv.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert a[semconv.GEN_AI_REQUEST_MAX_TOKENS] == 64
    assert a[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert a[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 3
    assert a[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert a[semconv.GEN_AI_USAGE_COST_AMOUNT] > 0
    assert a[semconv.LLMTRACE_LANGCHAIN_RUN_TYPE] == "llm"
    assert a[semconv.LLMTRACE_LANGCHAIN_RUN_NAME] == "PricedFakeChatModel"


def test_usage_from_llm_output_token_usage(captured, handler):
    LegacyUsageChatModel(messages=iter([])).invoke("hi", config={"callbacks": [handler]})

    a = attrs(captured.find("chat"))
    assert a[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 11
    assert a[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 4
    assert a[semconv.GEN_AI_RESPONSE_MODEL] == "legacy-1"
    assert a[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("length",)


def test_text_completion_llm(captured_content, handler):
    FakeListLLM(responses=["four"]).invoke("2+2=", config={"callbacks": [handler]})

    a = attrs(captured_content.find("text_completion"))
    assert a[semconv.GEN_AI_OPERATION_NAME] == semconv.OP_TEXT_COMPLETION
    assert a[semconv.GEN_AI_PROVIDER_NAME] == "fakelist"
    assert json.loads(a[semconv.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": "2+2="}]}
    ]
    assert json.loads(a[semconv.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["content"] == "four"


def test_messages_are_recorded_only_with_content_capture(captured, handler):
    fake_chat().invoke("secret", config={"callbacks": [handler]})

    a = attrs(captured.find("chat"))
    assert semconv.GEN_AI_INPUT_MESSAGES not in a
    assert semconv.GEN_AI_OUTPUT_MESSAGES not in a


def test_messages_with_content_capture(captured_content, handler):
    answer = reply("", tool_calls=[{"name": "add", "args": {"a": 1}, "id": "call_1"}])
    prompt = ChatPromptTemplate.from_messages([("system", "Be brief."), ("human", "{q}")])

    (prompt | fake_chat(answer)).invoke({"q": "1+?"}, config={"callbacks": [handler]})

    a = attrs(captured_content.find("chat"))
    assert json.loads(a[semconv.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "1+?"}]},
    ]
    assert json.loads(a[semconv.GEN_AI_OUTPUT_MESSAGES]) == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "call_1", "name": "add", "arguments": {"a": 1}}],
            "finish_reason": "stop",
        }
    ]


def test_streaming_records_time_to_first_chunk(captured, handler):
    chunks = list(fake_chat(reply("one two three")).stream("go", config={"callbacks": [handler]}))

    assert "".join(c.content for c in chunks) == "one two three"
    a = attrs(captured.find("chat"))
    assert a[semconv.GEN_AI_REQUEST_STREAM] is True
    assert a[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
    assert a[semconv.LLMTRACE_STREAM_CHUNKS] >= 3


async def test_async_streaming_records_time_to_first_chunk(captured, handler):
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | fake_chat(reply("a b"))

    text = "".join(
        [c.content async for c in chain.astream({"q": "x"}, config={"callbacks": [handler]})]
    )

    assert text == "a b"
    a = attrs(captured.find("chat"))
    assert a[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
    assert_one_trace(captured)


def test_non_streaming_call_has_no_time_to_first_chunk(captured, handler):
    FakeListChatModel(responses=["x"]).invoke("hi", config={"callbacks": [handler]})

    assert semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK not in attrs(captured.find("chat"))


def test_abandoned_model_stream_is_marked_not_failed(captured, handler):
    stream = fake_chat(reply("one two three four")).stream("go", config={"callbacks": [handler]})
    next(stream)
    stream.close()

    span = captured.find("chat")
    assert span.status.status_code is not StatusCode.ERROR
    assert attrs(span)[semconv.LLMTRACE_STREAM_ABANDONED] is True


def test_model_error_is_recorded_and_propagates(captured, handler):
    class Broken(GenericFakeChatModel):
        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            raise TimeoutError("provider timed out")

    with pytest.raises(TimeoutError):
        Broken(messages=iter([])).invoke("hi", config={"callbacks": [handler]})

    span = captured.find("chat")
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)[semconv.ERROR_TYPE] == "TimeoutError"


def test_prompt_template_links_the_llm_call_that_follows(captured, handler):
    prompt = PromptTemplate.from_template("Summarise: {text}")
    prompt.metadata = {"llmtrace_prompt_name": "summary", "llmtrace_prompt_version": "7"}

    (prompt | FakeListLLM(responses=["ok"])).invoke({"text": "t"}, config={"callbacks": [handler]})

    llm = attrs(captured.find("text_completion"))
    assert llm[semconv.GEN_AI_PROMPT_NAME] == "summary"
    assert llm[semconv.GEN_AI_PROMPT_VERSION] == "7"
    template_hash = llm[semconv.LLMTRACE_PROMPT_TEMPLATE_HASH]
    assert (
        attrs(captured.find("PromptTemplate"))[semconv.LLMTRACE_PROMPT_TEMPLATE_HASH]
        == template_hash
    )


def test_prompt_hash_changes_with_the_template_and_name_defaults_to_run_name(captured, handler):
    for template in ("A {x}", "B {x}"):
        prompt = PromptTemplate.from_template(template).with_config(run_name="greeting")
        (prompt | FakeListLLM(responses=["ok"])).invoke({"x": 1}, config={"callbacks": [handler]})

    first, second = (attrs(s) for s in captured.by_name("text_completion"))
    assert first[semconv.GEN_AI_PROMPT_NAME] == second[semconv.GEN_AI_PROMPT_NAME] == "greeting"
    assert (
        first[semconv.LLMTRACE_PROMPT_TEMPLATE_HASH]
        != second[semconv.LLMTRACE_PROMPT_TEMPLATE_HASH]
    )


def test_llm_without_a_prompt_template_has_no_prompt_attributes(captured, handler):
    FakeListLLM(responses=["ok"]).invoke("plain", config={"callbacks": [handler]})

    assert semconv.GEN_AI_PROMPT_NAME not in attrs(captured.find("text_completion"))


def test_batch_makes_one_trace_per_input(captured, handler):
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | FakeListChatModel(
        responses=["r"]
    )

    chain.batch([{"q": str(i)} for i in range(5)], config={"callbacks": [handler]})

    roots = captured.roots()
    assert len(roots) == 5
    for root in roots:
        names = sorted(s.name for s in captured.children(root))
        assert names == ["ChatPromptTemplate", "chat"]


async def test_abatch_makes_one_trace_per_input(captured, handler):
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | FakeListChatModel(
        responses=["r"]
    )

    await chain.abatch([{"q": str(i)} for i in range(5)], config={"callbacks": [handler]})

    assert len(captured.roots()) == 5
    assert len({r.context.trace_id for r in captured.roots() if r.context}) == 5
    for span in captured.spans:
        assert span.parent is None or captured.parent_of(span) is not None


async def test_astream_events_keeps_one_tree(captured, handler):
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | fake_chat(reply("a b c"))

    kinds = [
        event["event"]
        async for event in chain.astream_events({"q": "x"}, config={"callbacks": [handler]})
    ]

    assert "on_chat_model_stream" in kinds
    assert_one_trace(captured)
    assert attrs(captured.find("chat"))[semconv.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
