"""Prompts: versions from content, variable checks, and the link to the LLM spans that follow."""

from __future__ import annotations

import asyncio
import contextvars
import json
import pickle
import threading
from collections.abc import Iterator

import pytest

import llmtrace
from llmtrace._genai.lifecycle import LLMInvocation
from llmtrace._prompts import prompt as prompts
from llmtrace._prompts import state as _prompt_state
from llmtrace._prompts.prompt import (
    Prompt,
    PromptTemplateError,
    PromptVariableError,
    activate_prompt,
    prompt_attributes,
    prompt_span_attributes,
    template_hash,
)
from llmtrace._runtime import runtime
from llmtrace.testing import SpanCapture

QA = Prompt(
    "qa",
    [
        {"role": "system", "content": "Answer in {language}."},
        {"role": "user", "content": "{question}"},
    ],
)
GREET = Prompt("greet", "Hello {name}!")

PROMPT_KEYS = (
    "gen_ai.prompt.name",
    "gen_ai.prompt.version",
    "llmtrace.prompt.template_hash",
    "llmtrace.prompt.variant",
)


def call_llm(model: str = "gpt-4o-mini") -> None:
    """One LLM span, made the way every provider makes it (through LLMInvocation)."""
    invocation = LLMInvocation(operation="chat", provider="openai", request_model=model)
    invocation.start()
    invocation.stop()


def prompt_on(span: object) -> dict[str, object]:
    attributes = dict(getattr(span, "attributes", None) or {})
    return {k: v for k, v in attributes.items() if k.startswith(("gen_ai.prompt", "llm.", "lang"))}


def llm_spans(captured: SpanCapture) -> list[object]:
    return [
        s for s in captured.spans if (s.attributes or {}).get("gen_ai.operation.name") == "chat"
    ]


@pytest.fixture(autouse=True)
def _fresh_prompt_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with nothing linked, and the interop switch restored afterwards."""
    monkeypatch.setattr(runtime, "prompt_interop", False)
    token = _prompt_state._STATE.set(None)
    yield
    _prompt_state._STATE.reset(token)


# -- versions ---------------------------------------------------------------------------
def test_the_version_is_a_hash_of_the_template_and_stable_across_processes() -> None:
    # Literal values: the hash must not depend on the process (no hash()), the name or time.
    assert GREET.template_hash == "87566760931a5ef4"
    assert GREET.version == "87566760"
    assert Prompt("another-name", "Hello {name}!").version == GREET.version
    assert template_hash("Hello {name}!") == GREET.template_hash


def test_an_edited_template_gets_a_new_version() -> None:
    edited = Prompt("greet", "Hello {name}!!")
    assert edited.version != GREET.version
    assert edited.template_hash != GREET.template_hash


def test_chat_templates_hash_their_messages_whatever_the_key_order() -> None:
    reordered = Prompt(
        "qa",
        [
            {"content": "Answer in {language}.", "role": "system"},
            {"content": "{question}", "role": "user"},
        ],
    )
    assert reordered.version == QA.version
    swapped_roles = Prompt(
        "qa",
        [
            {"role": "user", "content": "Answer in {language}."},
            {"role": "system", "content": "{question}"},
        ],
    )
    assert swapped_roles.version != QA.version


def test_an_explicit_version_is_kept_and_the_hash_is_still_there() -> None:
    prompt = Prompt("greet", "Hello {name}!", version=3, variant="warm")
    assert prompt.version == "3"
    assert prompt.variant == "warm"
    assert prompt.template_hash == GREET.template_hash


def test_prompts_are_immutable() -> None:
    messages = [{"role": "user", "content": "{question}"}]
    prompt = Prompt("q", messages)
    messages[0]["content"] = "changed {question}"
    assert prompt.render(question="x") == [{"role": "user", "content": "x"}]
    with pytest.raises(AttributeError):
        prompt.version = "2"  # type: ignore[misc]
    with pytest.raises(TypeError):
        prompt.template[0]["content"] = "hacked"  # type: ignore[index]
    assert prompt == Prompt("q", [{"role": "user", "content": "{question}"}])
    assert len({prompt, Prompt("q", [{"role": "user", "content": "{question}"}])}) == 1
    assert pickle.loads(pickle.dumps(prompt)) == prompt


# -- formatting and variables -----------------------------------------------------------
def test_format_fills_strings_and_chat_messages() -> None:
    assert GREET.format(name="Ada") == "Hello Ada!"
    assert QA.format(language="French", question="Why?") == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Why?"},
    ]
    assert QA.variables == ("language", "question")


def test_format_supports_str_format_features() -> None:
    prompt = Prompt("p", "{{literal}} {user.name} {items[0]} {score:.{digits}f}")

    class User:
        name = "Ada"

    assert prompt.variables == ("user", "items", "score", "digits")
    assert prompt.render(user=User(), items=["x"], score=0.5, digits=2) == "{literal} Ada x 0.50"


def test_a_missing_variable_is_an_error_naming_it() -> None:
    with pytest.raises(PromptVariableError) as caught:
        QA.format(language="French")
    assert caught.value.missing == ("question",)
    assert "'question'" in str(caught.value) and "'qa'" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_an_unknown_variable_is_an_error_naming_it() -> None:
    with pytest.raises(PromptVariableError, match=r"unknown variable.*'lang'") as caught:
        QA.format(lang="French", language="French", question="q")
    assert caught.value.unknown == ("lang",)
    assert caught.value.missing == ()


def test_a_value_that_does_not_fit_its_field_is_a_prompt_error() -> None:
    with pytest.raises(PromptVariableError, match="cannot format"):
        Prompt("p", "{score:.2f}").format(score="high")


@pytest.mark.parametrize(
    "template",
    ["{}", "{0}", "unbalanced {", "closing }", [{"role": "user"}], [{"content": "x"}], 42],
)
def test_malformed_templates_are_rejected_when_built(template: object) -> None:
    with pytest.raises(PromptTemplateError):
        Prompt("bad", template)  # type: ignore[arg-type]


def test_render_formats_without_linking() -> None:
    assert GREET.render(name="Ada") == "Hello Ada!"
    assert prompt_attributes() is None


# -- the link to LLM spans --------------------------------------------------------------
def test_llm_calls_after_format_carry_the_prompt(captured: SpanCapture) -> None:
    with llmtrace.span("answer"):
        QA.format(language="French", question="Why?")
        call_llm()
        call_llm()
    for span in llm_spans(captured):
        assert prompt_on(span) == {
            "gen_ai.prompt.name": "qa",
            "gen_ai.prompt.version": QA.version,
        }
        assert span.attributes["llmtrace.prompt.template_hash"] == QA.template_hash
    assert len(llm_spans(captured)) == 2
    assert "gen_ai.prompt.name" not in captured.find("answer").attributes


def test_variable_values_are_written_only_with_content_capture(
    captured_content: SpanCapture,
) -> None:
    with llmtrace.span("answer"):
        QA.format(language="French", question={"text": "Why?"})
        call_llm()
    attributes = llm_spans(captured_content)[0].attributes
    assert attributes["gen_ai.prompt.variable.language"] == "French"
    assert json.loads(attributes["gen_ai.prompt.variable.question"]) == {"text": "Why?"}


def test_without_content_capture_no_variable_values(captured: SpanCapture) -> None:
    QA.format(language="French", question="secret")
    call_llm()
    keys = llm_spans(captured)[0].attributes.keys()
    assert not [k for k in keys if k.startswith("gen_ai.prompt.variable.")]


def test_variable_values_go_through_redaction_and_the_size_limit(
    captured_content: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "redact", lambda v: v.replace("4111", "****"))
    monkeypatch.setattr(runtime, "max_attribute_bytes", 256)
    Prompt("p", "{card} {essay}").format(card="4111 1111", essay="x" * 10_000)
    call_llm()
    attributes = llm_spans(captured_content)[0].attributes
    assert attributes["gen_ai.prompt.variable.card"] == "**** 1111"
    assert len(attributes["gen_ai.prompt.variable.essay"].encode()) <= 256


@llmtrace.trace
def inner_call() -> None:
    call_llm("inner-model")


@llmtrace.trace
def build_messages(question: str) -> object:
    return QA.format(language="French", question=question)


def test_nested_decorated_functions_see_the_prompt(captured: SpanCapture) -> None:
    @llmtrace.trace
    def outer() -> None:
        GREET.format(name="Ada")
        inner_call()

    outer()
    assert prompt_on(captured.find("chat inner-model"))["gen_ai.prompt.name"] == "greet"


def test_a_prompt_formatted_in_a_helper_reaches_the_call_after_it_returns(
    captured: SpanCapture,
) -> None:
    @llmtrace.trace
    def answer() -> None:
        build_messages("Why?")
        call_llm()

    answer()
    assert prompt_on(llm_spans(captured)[0])["gen_ai.prompt.name"] == "qa"


def test_the_link_does_not_leak_into_the_next_trace(captured: SpanCapture) -> None:
    # Two requests served one after the other by the same thread: the second uses no prompt.
    with llmtrace.span("request 1"):
        GREET.format(name="Ada")
        call_llm("first")
    with llmtrace.span("request 2"):
        call_llm("second")
    assert prompt_on(captured.find("chat first"))["gen_ai.prompt.name"] == "greet"
    assert prompt_on(captured.find("chat second")) == {}


def test_a_prompt_formatted_outside_any_span_links_what_follows(captured: SpanCapture) -> None:
    GREET.format(name="Ada")
    call_llm("bare")
    with llmtrace.span("later"):
        call_llm("in-span")
    assert prompt_on(captured.find("chat bare"))["gen_ai.prompt.name"] == "greet"
    assert prompt_on(captured.find("chat in-span"))["gen_ai.prompt.name"] == "greet"


def test_a_later_format_replaces_the_link(captured: SpanCapture) -> None:
    with llmtrace.span("answer"):
        GREET.format(name="Ada")
        QA.format(language="French", question="Why?")
        call_llm()
    assert prompt_on(llm_spans(captured)[0])["gen_ai.prompt.name"] == "qa"


def test_threads_with_a_copied_context_see_the_prompt(captured: SpanCapture) -> None:
    with llmtrace.span("answer"):
        GREET.format(name="Ada")
        ctx = contextvars.copy_context()
        worker = threading.Thread(target=ctx.run, args=(call_llm, "threaded"))
        worker.start()
        worker.join()
        with llmtrace.ContextThreadPoolExecutor(max_workers=2) as pool:
            pool.submit(call_llm, "pooled").result()
    assert prompt_on(captured.find("chat threaded"))["gen_ai.prompt.name"] == "greet"
    assert prompt_on(captured.find("chat pooled"))["gen_ai.prompt.name"] == "greet"


def test_a_prompt_formatted_in_a_thread_does_not_leak_back(captured: SpanCapture) -> None:
    with llmtrace.span("answer"):
        ctx = contextvars.copy_context()
        worker = threading.Thread(target=ctx.run, args=(GREET.format,), kwargs={"name": "x"})
        worker.start()
        worker.join()
        call_llm("parent")
    assert prompt_on(captured.find("chat parent")) == {}


async def test_tasks_see_the_prompt_and_siblings_keep_their_own(captured: SpanCapture) -> None:
    started = asyncio.Event()

    async def handle(prompt: Prompt, name: str, model: str) -> None:
        with llmtrace.span(f"handle {model}"):
            prompt.format(name=name)
            started.set()
            await asyncio.sleep(0)  # let the sibling format its own prompt meanwhile
            await asyncio.create_task(asyncio.to_thread(call_llm, f"{model}-thread"))
            call_llm(model)

    other = Prompt("other", "Bye {name}")
    await asyncio.gather(handle(GREET, "a", "a"), handle(other, "b", "b"))
    for model, expected in (("a", "greet"), ("b", "other")):
        assert prompt_on(captured.find(f"chat {model}"))["gen_ai.prompt.name"] == expected
        assert prompt_on(captured.find(f"chat {model}-thread"))["gen_ai.prompt.name"] == expected


async def test_a_sibling_task_started_earlier_does_not_see_it(captured: SpanCapture) -> None:
    go = asyncio.Event()

    async def sibling() -> None:
        await go.wait()
        call_llm("sibling")

    with llmtrace.span("request"):
        task = asyncio.create_task(sibling())
        await asyncio.sleep(0)
        GREET.format(name="Ada")
        go.set()
        await task
    assert prompt_on(captured.find("chat sibling")) == {}


# -- use_prompt -------------------------------------------------------------------------
def test_use_prompt_links_exactly_the_block(captured_content: SpanCapture) -> None:
    with llmtrace.use_prompt(QA, question="Why?") as prompt:
        assert prompt is QA
        call_llm("inside")
    call_llm("after")
    inside = captured_content.find("chat inside").attributes
    assert inside["gen_ai.prompt.name"] == "qa"
    assert inside["gen_ai.prompt.variable.question"] == "Why?"
    assert "gen_ai.prompt.variable.language" not in inside
    assert prompt_on(captured_content.find("chat after")) == {}


def test_the_innermost_scope_wins_and_the_outer_one_returns(captured: SpanCapture) -> None:
    GREET.format(name="Ada")  # an implicit link from before
    with llmtrace.use_prompt(QA):
        call_llm("outer")
        with llmtrace.use_prompt(GREET.with_variant("b")):
            call_llm("inner")
        call_llm("outer-again")
        Prompt("fmt", "x").format()
        call_llm("formatted-inside")
    call_llm("after")
    names = {
        model: captured.find(f"chat {model}").attributes.get("gen_ai.prompt.name")
        for model in ("outer", "inner", "outer-again", "formatted-inside", "after")
    }
    assert names == {
        "outer": "qa",
        "inner": "greet",
        "outer-again": "qa",
        "formatted-inside": "fmt",
        "after": "greet",
    }
    assert captured.find("chat inner").attributes["llmtrace.prompt.variant"] == "b"


def test_use_prompt_rejects_unknown_variables_and_non_prompts() -> None:
    with pytest.raises(PromptVariableError, match="'nme'"), llmtrace.use_prompt(GREET, nme="x"):
        pass
    with pytest.raises(TypeError), llmtrace.use_prompt("greet"):  # type: ignore[arg-type]
        pass


def test_the_user_exception_leaves_the_block_unchanged() -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), llmtrace.use_prompt(GREET):
        raise Boom
    assert prompt_attributes() is None


def test_the_attributes_are_computed_once_per_scope(captured: SpanCapture) -> None:
    with llmtrace.use_prompt(GREET, name="x"):
        first = prompt_attributes()
        assert first is prompt_attributes()
    assert first is not None and first["gen_ai.prompt.name"] == "greet"


def test_nothing_in_scope_means_nothing_to_add() -> None:
    assert prompt_attributes() is None


# -- model version ----------------------------------------------------------------------
def test_model_version_scope_wins_over_init(
    captured: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "model_version", "release-1")
    call_llm("before")
    with llmtrace.model_version("ft-2025-06"):
        call_llm("scoped")
        with llmtrace.model_version("ft-canary"):
            call_llm("nested")
    call_llm("after")
    versions = {
        model: captured.find(f"chat {model}").attributes["llmtrace.model.version"]
        for model in ("before", "scoped", "nested", "after")
    }
    assert versions == {
        "before": "release-1",
        "scoped": "ft-2025-06",
        "nested": "ft-canary",
        "after": "release-1",
    }


def test_model_version_needs_a_string() -> None:
    with pytest.raises(ValueError), llmtrace.model_version(""):
        pass


# -- interop ----------------------------------------------------------------------------
def test_interop_keys_are_off_by_default(captured_content: SpanCapture) -> None:
    GREET.format(name="Ada")
    call_llm()
    keys = llm_spans(captured_content)[0].attributes.keys()
    assert not [k for k in keys if k.startswith(("llm.prompt_template", "langfuse."))]


def test_interop_writes_openinference_and_langfuse_keys(
    captured_content: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "prompt_interop", True)
    Prompt("greet", "Hello {name}!", version=7).format(name="Ada")
    call_llm()
    attributes = llm_spans(captured_content)[0].attributes
    assert attributes["llm.prompt_template.template"] == "Hello {name}!"
    assert attributes["llm.prompt_template.version"] == "7"
    assert json.loads(attributes["llm.prompt_template.variables"]) == {"name": "Ada"}
    assert attributes["langfuse.observation.prompt.name"] == "greet"
    assert attributes["langfuse.observation.prompt.version"] == 7


def test_interop_without_capture_writes_no_template_or_values(
    captured: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "prompt_interop", True)
    # GREET's version is its hash, "87566760": all digits, yet not a Langfuse version number.
    GREET.format(name="Ada")
    call_llm()
    attributes = llm_spans(captured)[0].attributes
    assert attributes["llm.prompt_template.version"] == GREET.version
    assert attributes["langfuse.observation.prompt.name"] == "greet"
    for key in (
        "llm.prompt_template.template",
        "llm.prompt_template.variables",
        "langfuse.observation.prompt.version",
    ):
        assert key not in attributes


def test_init_and_the_environment_turn_interop_on(monkeypatch: pytest.MonkeyPatch) -> None:
    llmtrace.init(exporter="none", prompt_interop=True, metrics=False, instrument=False)
    assert runtime.prompt_interop is True
    llmtrace.shutdown()
    monkeypatch.setenv("LLMTRACE_PROMPT_INTEROP", "false")
    llmtrace.init(exporter="none", metrics=False, instrument=False)
    assert runtime.prompt_interop is False


# -- templates known only as strings (the LangChain helper) -----------------------------
def test_prompt_span_attributes_match_an_equal_prompt() -> None:
    from langchain_core.prompts import ChatPromptTemplate, PromptTemplate

    text = PromptTemplate.from_template("Hello {name}!").template
    assert prompt_span_attributes("greet", text) == {
        "gen_ai.prompt.name": "greet",
        "gen_ai.prompt.version": GREET.version,
        "llmtrace.prompt.template_hash": GREET.template_hash,
    }
    chat = ChatPromptTemplate.from_messages(
        [("system", "Answer in {language}."), ("user", "{question}")]
    )
    roles = {"SystemMessagePromptTemplate": "system", "HumanMessagePromptTemplate": "user"}
    messages = [
        {"role": roles[type(m).__name__], "content": m.prompt.template} for m in chat.messages
    ]
    attributes = prompt_span_attributes(
        "qa", messages, {"question": "Why?"}, version="v2", variant="b"
    )
    assert attributes["llmtrace.prompt.template_hash"] == QA.template_hash
    assert attributes["gen_ai.prompt.version"] == "v2"
    assert attributes["llmtrace.prompt.variant"] == "b"
    assert "gen_ai.prompt.variable.question" not in attributes  # capture is off


def test_prompt_span_attributes_take_any_template_syntax(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "capture_content", True)
    attributes = prompt_span_attributes("j", "Hi {{ name }} {% if x %}", {"name": "Ada"})
    assert attributes["gen_ai.prompt.version"] == template_hash("Hi {{ name }} {% if x %}")[:8]
    assert attributes["gen_ai.prompt.variable.name"] == "Ada"


def test_prompt_span_attributes_never_raise(lenient: None) -> None:
    assert prompt_span_attributes("bad", object()) == {}  # type: ignore[arg-type]


def test_activate_prompt_scopes_a_plain_template(captured: SpanCapture) -> None:
    with activate_prompt("lc", "Tell me about {topic}", {"topic": "otel"}, version="3"):
        call_llm("inside")
    call_llm("outside")
    assert prompt_on(captured.find("chat inside")) == {
        "gen_ai.prompt.name": "lc",
        "gen_ai.prompt.version": "3",
    }
    assert prompt_on(captured.find("chat outside")) == {}


# -- through the real instrumentations --------------------------------------------------
def test_openai_calls_carry_the_prompt_and_model_version(captured: SpanCapture) -> None:
    import httpx
    import openai

    from llmtrace.instrumentation.openai import instrument_openai, uninstrument_openai

    def reply(request: httpx.Request) -> httpx.Response:
        body = {
            "id": "c-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hi"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
        }
        return httpx.Response(200, json=body)

    client = openai.OpenAI(
        api_key="test",
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(reply)),
    )
    instrument_openai()
    try:
        with llmtrace.model_version("ft-7"):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=QA.format(language="French", question="Why?")
            )
    finally:
        uninstrument_openai()
    attributes = llm_spans(captured)[0].attributes
    assert attributes["gen_ai.prompt.name"] == "qa"
    assert attributes["gen_ai.prompt.version"] == QA.version
    assert attributes["llmtrace.model.version"] == "ft-7"


def test_a_langchain_template_in_a_chain_is_recognised(captured_content: SpanCapture) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langchain_core.prompts import ChatPromptTemplate

    from llmtrace.instrumentation.langchain import instrument_langchain, uninstrument_langchain

    template = ChatPromptTemplate.from_messages(
        [("system", "Answer in {language}."), ("user", "{question}")]
    ).with_config(metadata={"llmtrace_prompt_name": "qa", "llmtrace_prompt_version": "5"})
    chain = template | FakeListChatModel(responses=["Parce que."])
    instrument_langchain()
    try:
        chain.invoke({"language": "French", "question": "Why?"})
    finally:
        uninstrument_langchain()
    attributes = llm_spans(captured_content)[0].attributes
    assert attributes["gen_ai.prompt.name"] == "qa"
    assert attributes["gen_ai.prompt.version"] == "5"
    assert attributes["llmtrace.prompt.template_hash"] == QA.template_hash  # same text, same hash
    assert attributes["gen_ai.prompt.variable.question"] == "Why?"


# -- the never-raise contract and switched-off tracing ----------------------------------
def test_a_failure_while_linking_never_reaches_the_caller(
    lenient: None, monkeypatch: pytest.MonkeyPatch, captured: SpanCapture
) -> None:
    def broken(binding: object) -> None:
        raise RuntimeError("bug in llmtrace")

    monkeypatch.setattr(prompts._prompt_state, "link", broken)
    assert GREET.format(name="Ada") == "Hello Ada!"
    call_llm()
    assert prompt_on(llm_spans(captured)[0]) == {}


def test_a_redact_hook_that_raises_drops_the_values_not_the_span(
    captured_content: SpanCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def hook(value: object) -> object:
        raise RuntimeError("hook bug")

    monkeypatch.setattr(runtime, "redact", hook)
    GREET.format(name="Ada")
    call_llm()
    attributes = llm_spans(captured_content)[0].attributes
    assert attributes["gen_ai.prompt.name"] == "greet"
    assert "gen_ai.prompt.variable.name" not in attributes


def test_formatting_works_with_tracing_off() -> None:
    assert runtime.tracer() is None
    assert GREET.format(name="Ada") == "Hello Ada!"
    call_llm()  # no span, no error


def test_suppressed_instrumentation_makes_no_llm_span(captured: SpanCapture) -> None:
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    GREET.format(name="Ada")
    with suppress_instrumentation():
        call_llm()
    assert llm_spans(captured) == []
