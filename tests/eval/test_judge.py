"""``llmtrace.judge`` with any client: verdict parsing, its prompt, and failures recorded."""

from __future__ import annotations

from typing import Any

import pytest

import llmtrace
from llmtrace import semconv
from llmtrace.eval import DEFAULT_JUDGE_PROMPT, JudgeError, Score
from llmtrace.testing import SpanCapture


def test_a_function_as_the_client_and_custom_choices(captured: SpanCapture) -> None:
    seen: list[Any] = []

    def model(prompt: str) -> str:  # a str template: the judge sends one string
        seen.append(prompt)
        return "Rude. It shouts." if "!" in prompt else "The tone is POLITE."

    tone = llmtrace.Prompt("tone", "Is this polite or rude? Answer {labels}.\n{output}")
    polite = llmtrace.judge(model, name="polite", prompt=tone, choices={"polite": 1, "rude": 0})
    result = llmtrace.evaluate(["hello", "GO AWAY!"], lambda x: x, [polite])
    assert [c.scores["polite"] for c in result.cases] == [1.0, 0.0]
    assert [c.labels["polite"] for c in result.cases] == ["polite", "rude"]
    assert seen[0] == "Is this polite or rude? Answer polite, rude.\nhello"
    assert result.run["scorers"][0]["prompt"] == f"tone@{tone.version}"
    root = captured.roots()[0]
    event = next(e for e in root.events if e.name == semconv.GEN_AI_EVALUATION_RESULT_EVENT)
    assert event.attributes[semconv.LLMTRACE_EVALUATION_SOURCE] == "llm_judge"


def test_the_first_label_in_the_reply_wins_and_words_are_whole() -> None:
    grade = llmtrace.judge(lambda messages: "")
    assert grade.verdict("incorrect, not correct at all").label == "incorrect"
    assert grade.verdict("Partially_Correct: close").value == 0.5
    assert grade.verdict("correct!") == Score(1.0, "correct", "correct!")
    with pytest.raises(JudgeError, match="names none of"):
        grade.verdict("I would say it is fine")
    with pytest.raises(JudgeError, match="no text"):
        grade.verdict(None)


def test_an_unreadable_verdict_is_that_scorers_error(captured: SpanCapture) -> None:
    grade = llmtrace.judge(lambda messages: "hmm", name="grade")
    result = llmtrace.evaluate([1], lambda x: x, [grade])
    assert result.cases[0].scores == {}
    assert result.cases[0].score_errors["grade"].startswith("JudgeError")


def test_judge_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="may use only"):
        llmtrace.judge(lambda m: "", prompt=llmtrace.Prompt("p", "{answer}"))
    with pytest.raises(ValueError, match="choices"):
        llmtrace.judge(lambda m: "", choices={})
    assert set(DEFAULT_JUDGE_PROMPT.variables) == {"labels", "input", "expected", "output"}


def test_an_openai_client_needs_a_model(client: Any) -> None:
    with pytest.raises(ValueError, match="model="):
        llmtrace.judge(client)


def test_a_langchain_chat_model_as_the_judge(
    server: Any, instrumented: None, captured: SpanCapture
) -> None:
    from langchain_openai import ChatOpenAI

    from tests.support.eval_server import CASES

    model = ChatOpenAI(
        model="judge-model", base_url=server.base_url, api_key="sk-test", max_retries=0
    )
    grade = llmtrace.judge(model)
    answers = {c.input: c.expected for c in CASES}
    result = llmtrace.evaluate(CASES[:3], lambda q: answers[q], [grade])
    assert [c.scores["judge"] for c in result.cases] == [1.0, 1.0, 1.0]
    assert all(c.judge_cost_usd for c in result.cases)  # traced and priced
