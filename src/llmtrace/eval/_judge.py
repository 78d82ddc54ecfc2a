"""An LLM as a judge: a scorer that asks a model to grade an answer.

    grade = llmtrace.judge(OpenAI(), model="gpt-4o-mini")   # correct / partially / incorrect
    grade = llmtrace.judge(client, model="gpt-4o", name="polite",
                           prompt=POLITENESS_PROMPT, choices={"polite": 1, "rude": 0})
    llmtrace.evaluate(cases, task, scorers=[grade])

``client`` is an (instrumented) OpenAI or AsyncOpenAI client, a LangChain chat
model, or any function taking chat messages and returning the reply text. The
judge formats its own versioned ``Prompt`` (variables among ``input``,
``output``, ``expected``, ``metadata``, ``labels``), so its LLM calls carry the
judge prompt's name and version and are traced and priced like any other.
The reply's first choice label (a whole word, case-insensitive) is the verdict;
its value is the score, the reply is the explanation. A reply naming no label
raises ``JudgeError``, which the run records as that scorer's error for the case.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

from .._errors import LLMTraceError
from .._prompts.prompt import Prompt
from ._cases import Score, plain

__all__ = ["DEFAULT_CHOICES", "DEFAULT_JUDGE_PROMPT", "AsyncJudge", "Judge", "JudgeError", "judge"]

DEFAULT_CHOICES: Mapping[str, float] = {"correct": 1.0, "partially_correct": 0.5, "incorrect": 0.0}

DEFAULT_JUDGE_PROMPT = Prompt(
    "llmtrace-judge",
    [
        {
            "role": "system",
            "content": "You grade answers against a reference answer. Reply with exactly one "
            "of these words first: {labels}. Then give one short sentence explaining why.",
        },
        {
            "role": "user",
            "content": "Question:\n{input}\n\nReference answer:\n{expected}\n\n"
            "Answer to grade:\n{output}",
        },
    ],
    version="1",
)

_OFFERED = ("input", "output", "expected", "metadata", "labels")


class JudgeError(LLMTraceError, ValueError):
    """The judge's reply named none of the choices (or the client returned no text)."""


class Judge:
    """A scorer backed by an LLM; built by ``llmtrace.judge``. Call it like a scorer."""

    source = "llm_judge"

    def __init__(
        self,
        client: Any,
        model: str | None,
        prompt: Prompt,
        name: str,
        choices: Mapping[str, float],
        temperature: float | None,
        options: Mapping[str, Any],
    ) -> None:
        self.client = client
        self.model = model
        self.prompt = prompt
        self.name = name
        self.choices = dict(choices)
        self.temperature = temperature
        self.options = dict(options)
        alternatives = "|".join(re.escape(c) for c in sorted(choices, key=len, reverse=True))
        self._pattern = re.compile(r"\b(" + alternatives + r")\b", re.IGNORECASE)

    def describe(self) -> dict[str, Any]:
        """What a run records about this judge."""
        return {
            "name": self.name,
            "source": self.source,
            "model": self.model,
            "prompt": f"{self.prompt.name}@{self.prompt.version}",
            "choices": self.choices,
            "temperature": self.temperature,
        }

    def messages(
        self, input: Any = None, output: Any = None, expected: Any = None, metadata: Any = None
    ) -> list[dict[str, Any]] | str:
        """The judge prompt formatted for one answer (and linked to the judge's LLM call)."""
        offered = {
            "input": _text(input),
            "output": _text(output),
            "expected": _text(expected),
            "metadata": _text(metadata),
            "labels": ", ".join(self.choices),
        }
        return self.prompt.format(**{name: offered[name] for name in self.prompt.variables})

    def verdict(self, reply: Any) -> Score:
        """The score a reply gives: its first choice label (earliest in the text)."""
        text = reply if isinstance(reply, str) else None
        if not text:
            raise JudgeError(f"judge {self.name!r}: the model returned no text ({reply!r:.80})")
        found = self._pattern.search(text)
        if found is None:
            raise JudgeError(
                f"judge {self.name!r}: the reply names none of {', '.join(self.choices)}: "
                f"{text!r:.200}"
            )
        label = next(c for c in self.choices if c.lower() == found.group(1).lower())
        return Score(float(self.choices[label]), label=label, explanation=text.strip())

    def __call__(
        self,
        input: Any = None,
        output: Any = None,
        expected: Any = None,
        metadata: Any = None,
        seed: int | None = None,
    ) -> Score:
        messages = self.messages(input, output, expected, metadata)
        return self.verdict(_ask(self, messages, seed))


class AsyncJudge(Judge):
    """A judge over an async client (``AsyncOpenAI``, a LangChain model's ``ainvoke``)."""

    async def __call__(  # type: ignore[override]
        self,
        input: Any = None,
        output: Any = None,
        expected: Any = None,
        metadata: Any = None,
        seed: int | None = None,
    ) -> Score:
        messages = self.messages(input, output, expected, metadata)
        return self.verdict(await _ask_async(self, messages, seed))


def judge(
    client: Any,
    *,
    model: str | None = None,
    prompt: Prompt | None = None,
    name: str = "judge",
    choices: Mapping[str, float] | None = None,
    temperature: float | None = 0.0,
    asynchronous: bool | None = None,
    **options: Any,
) -> Judge:
    """An LLM-as-a-judge scorer (see the module docs); ``options`` go to the model call.

    ``model`` is required for OpenAI clients. ``asynchronous`` is detected from the
    client (``AsyncOpenAI``); pass True for an async function or LangChain ``ainvoke``.
    """
    chosen = DEFAULT_JUDGE_PROMPT if prompt is None else prompt
    if not isinstance(chosen, Prompt):
        raise TypeError(f"judge prompt must be an llmtrace.Prompt, got {type(chosen).__name__}")
    unknown = set(chosen.variables) - set(_OFFERED)
    if unknown:
        raise ValueError(
            f"judge prompt {chosen.name!r} uses {sorted(unknown)}; it may use only "
            f"{', '.join(_OFFERED)}"
        )
    labels = dict(DEFAULT_CHOICES if choices is None else choices)
    if not labels or not all(isinstance(k, str) and k.strip() for k in labels):
        raise ValueError("judge choices must be a non-empty mapping label -> score")
    if _is_openai(client) and not model:
        raise ValueError("judge(): give model= for an OpenAI client")
    if asynchronous is None:
        asynchronous = _is_async_client(client)
    cls = AsyncJudge if asynchronous else Judge
    return cls(client, model, chosen, name, labels, temperature, options)


def _text(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return str(plain(value))


def _is_openai(client: Any) -> bool:
    completions = getattr(getattr(client, "chat", None), "completions", None)
    return callable(getattr(completions, "create", None))


def _is_async_client(client: Any) -> bool:
    create = client.chat.completions.create if _is_openai(client) else client
    # The SDK wraps its methods (and instrumentation may too): look beneath the wrappers.
    return inspect.iscoroutinefunction(create) or inspect.iscoroutinefunction(
        inspect.unwrap(create)
    )


def _request(judge: Judge, messages: Any, seed: int | None) -> dict[str, Any]:
    """OpenAI arguments: temperature and the run's seed unless the options say otherwise."""
    arguments: dict[str, Any] = {"model": judge.model, "messages": messages, **judge.options}
    if judge.temperature is not None:
        arguments.setdefault("temperature", judge.temperature)
    if seed is not None:
        arguments.setdefault("seed", seed)
    return arguments


def _reply_text(reply: Any) -> Any:
    """The text of an OpenAI chat completion, a LangChain message, or a plain string."""
    if isinstance(reply, str):
        return reply
    choices = getattr(reply, "choices", None)
    if choices:
        return getattr(getattr(choices[0], "message", None), "content", None)
    return getattr(reply, "content", None)


def _ask(judge: Judge, messages: Any, seed: int | None) -> Any:
    client = judge.client
    if _is_openai(client):
        return _reply_text(client.chat.completions.create(**_request(judge, messages, seed)))
    invoke: Callable[..., Any] | None = getattr(client, "invoke", None)
    if callable(invoke):
        return _reply_text(invoke(messages, **judge.options))
    return _reply_text(client(messages))


async def _ask_async(judge: Judge, messages: Any, seed: int | None) -> Any:
    client = judge.client
    if _is_openai(client):
        request = _request(judge, messages, seed)
        return _reply_text(await client.chat.completions.create(**request))
    ainvoke: Callable[..., Any] | None = getattr(client, "ainvoke", None)
    if callable(ainvoke):
        return _reply_text(await ainvoke(messages, **judge.options))
    return _reply_text(await client(messages))
