"""Score answers with a judge after the fact, and attach the scores to the answers' traces.

    python examples/llm_judge.py

No network and no API key: the "model" and the "judge" are small local
functions standing in for real ones. What it shows:

1. ``answer()`` formats a versioned ``llmtrace.Prompt`` (so its LLM span carries
   the prompt name and version) and returns a trace reference with the text, as
   a web app would hand it to its front end.
2. Later, a judge pass scores each answer and calls ``llmtrace.record_score(...,
   reference=...)``. The answer spans have long ended, so each score arrives as a
   small ``evaluation correctness`` span in the answer's trace, linked to it.

With no collector configured, ``llmtrace.init()`` prints each trace as a tree in
the terminal. Point it at one (``OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:6006``
for a local Phoenix) to see the scores next to the answers there.
"""

from __future__ import annotations

from dataclasses import dataclass

import llmtrace

ANSWER_PROMPT = llmtrace.Prompt(
    "support-answer",
    [
        {"role": "system", "content": "You answer questions about {product} in one sentence."},
        {"role": "user", "content": "{question}"},
    ],
    version="2",
)

# What the judge checks against.
REFERENCE = {
    "reset": "Open Settings, choose Account, then Reset password.",
    "export": "Use File > Export and pick CSV or JSON.",
    "refund": "Refunds are possible within 30 days of purchase.",
}
# What the "model" knows: not quite the same, so the judge has something to find.
MODEL_KNOWLEDGE = {
    "reset": "Open Settings, choose Account, then Reset password.",
    "export": "Use the Share menu and pick PDF.",
    "refund": "Refunds are possible within 30 days of purchase.",
    "mars": "Yes, it runs anywhere.",
}
QUESTIONS = [
    ("How do I reset my password?", "reset"),
    ("Can I export my data?", "export"),
    ("How long do refunds take?", "refund"),
    ("Does it run on Mars?", None),
    ("Is there a dark mode?", None),
]


def local_model(messages: list[dict[str, str]]) -> str:
    """A stand-in for a chat model: answers from a tiny knowledge base."""
    question = messages[-1]["content"].lower()
    for topic, text in MODEL_KNOWLEDGE.items():
        if topic in question:
            return text
    return "I am not sure about that."


@llmtrace.trace(kind="workflow")
def answer(question: str) -> dict[str, str | None]:
    messages = ANSWER_PROMPT.format(product="Acme Notes", question=question)
    assert isinstance(messages, list)
    with llmtrace.llm_call(model="local-echo-1", provider="local") as call:
        text = local_model(messages)
        call.record_usage(input_tokens=24, output_tokens=len(text.split()))
    return {"question": question, "text": text, "trace": llmtrace.trace_reference()}


@dataclass
class Verdict:
    score: float
    label: str
    explanation: str


@llmtrace.trace(kind="task")
def judge(question: str, text: str, expected_topic: str | None) -> Verdict:
    """A stand-in for an LLM judge: checks the answer against the reference answers."""
    if expected_topic is None:
        if "not sure" in text:
            return Verdict(1.0, "correct", "admits it does not know")
        return Verdict(0.0, "incorrect", "answers a question it cannot know")
    expected = set(REFERENCE[expected_topic].lower().split())
    overlap = len(expected & set(text.lower().split())) / len(expected)
    label = "correct" if overlap > 0.8 else "partial" if overlap > 0.3 else "incorrect"
    return Verdict(round(overlap, 2), label, f"{overlap:.0%} of the reference answer")


def main() -> None:
    llmtrace.init(service_name="llm-judge-example", instrument=False, metrics=False)

    replies = [(answer(question), topic) for question, topic in QUESTIONS]

    print("\nJudging the answers (their spans have ended; scores go by trace reference):")
    for reply, topic in replies:
        verdict = judge(str(reply["question"]), str(reply["text"]), topic)
        recorded = llmtrace.record_score(
            "correctness",
            verdict.score,
            label=verdict.label,
            explanation=verdict.explanation,
            reference=reply["trace"],
            source="llm_judge",
        )
        print(f"  {verdict.score:4.2f} {verdict.label:9} {reply['question']}  recorded={recorded}")

    llmtrace.shutdown()


if __name__ == "__main__":
    main()
