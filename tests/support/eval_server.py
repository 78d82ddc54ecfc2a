"""A deterministic OpenAI-compatible server on 127.0.0.1 for evaluation tests, and its data.

Task models answer from a 20-question table: ``large-model`` knows every answer,
``small-model`` does not know every fourth. The reply's form follows the prompt:
``PROMPT_TERSE`` asks for the answer only, ``PROMPT_CHATTY`` gets "The answer is X.".
A question containing "explode" gets HTTP 500. ``judge-model`` grades the
``llmtrace.judge`` default prompt: "correct" for an exact answer, "partially_correct"
when the answer contains the reference, else "incorrect". Usage is word counts, and
the served model is ``<model>-2025-01``.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

import llmtrace
from llmtrace.eval import Case
from tests.support.http_server import LocalHTTPServer, read_json, send_json

QUESTIONS: list[tuple[str, str]] = [
    ("What is 2 + 2?", "4"),
    ("What is the capital of France?", "Paris"),
    ("How many legs does a spider have?", "8"),
    ("What colour is the sky on a clear day?", "blue"),
    ("What is 10 times 10?", "100"),
    ("Which planet is known as the red planet?", "Mars"),
    ("What is the boiling point of water in Celsius?", "100"),
    ("How many days are in a week?", "7"),
    ("What is the chemical symbol for gold?", "Au"),
    ("Who wrote Hamlet?", "Shakespeare"),
    ("What is the largest ocean?", "Pacific"),
    ("How many continents are there?", "7"),
    ("What is 9 minus 3?", "6"),
    ("What gas do plants breathe in?", "CO2"),
    ("What is the square root of 81?", "9"),
    ("Which animal says moo?", "cow"),
    ("How many hours are in a day?", "24"),
    ("What is the freezing point of water in Celsius?", "0"),
    ("What is the capital of Japan?", "Tokyo"),
    ("What is 3 cubed?", "27"),
]
ANSWERS = dict(QUESTIONS)
SMALL_MODEL_MISSES = {q for i, (q, _) in enumerate(QUESTIONS) if i % 4 == 0}

CASES = [Case(q, expected=a, id=f"q{i:02d}") for i, (q, a) in enumerate(QUESTIONS)]

PROMPT_TERSE = llmtrace.Prompt(
    "qa",
    [
        {"role": "system", "content": "Reply with the answer only."},
        {"role": "user", "content": "{question}"},
    ],
)
PROMPT_CHATTY = llmtrace.Prompt(
    "qa",
    [
        {"role": "system", "content": "Answer in a full sentence."},
        {"role": "user", "content": "{question}"},
    ],
)

# USD per 1M tokens.
PRICES = {
    "small-model*": {"input": 0.5, "output": 1.5},
    "large-model*": {"input": 5.0, "output": 15.0},
    "judge-model*": {"input": 1.0, "output": 2.0},
}

_JUDGED = re.compile(r"Reference answer:\n(.*)\n\nAnswer to grade:\n(.*)", re.DOTALL)


def task_reply(model: str, messages: list[dict[str, Any]]) -> str | None:
    """The task models' answer, or None for "fail this request"."""
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    question = messages[-1]["content"]
    if "explode" in question:
        return None
    answer = ANSWERS.get(question, "unknown")
    if model.startswith("small") and question in SMALL_MODEL_MISSES:
        answer = "I do not know"
    return answer if "answer only" in system else f"The answer is {answer}."


def judge_reply(messages: list[dict[str, Any]]) -> str:
    found = _JUDGED.search(messages[-1]["content"])
    if found is None:
        return "I cannot tell."
    expected, answer = found.group(1).strip(), found.group(2).strip()
    if answer == expected:
        return "correct - the answer matches the reference exactly."
    if expected.lower() in answer.lower():
        return "partially_correct - the answer contains the reference."
    return "incorrect - the answer does not contain the reference."


def words(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in messages)


class EvalServer:
    """Serves /v1/chat/completions deterministically; records every request body."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.http = LocalHTTPServer(self._serve)
        self.httpd = self.http.httpd
        self.base_url = f"{self.http.url}/v1"

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        body = read_json(handler)
        with self._lock:
            self.requests.append(body)
        status, payload = self.answer(body)
        send_json(handler, status, payload)

    @staticmethod
    def answer(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        model, messages = body["model"], body["messages"]
        text = judge_reply(messages) if model == "judge-model" else task_reply(model, messages)
        if text is None:
            return 500, {"error": {"message": "the model exploded", "type": "server_error"}}
        completion = len(text.split())
        return 200, {
            "id": "chatcmpl-eval",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": f"{model}-2025-01",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": words(messages),
                "completion_tokens": completion,
                "total_tokens": words(messages) + completion,
            },
        }

    def close(self) -> None:
        self.http.close()
