"""Compare two prompt versions on a small dataset, offline: no API key, no collector.

    python examples/evaluation/compare_prompts.py [OUTPUT_DIR]

A tiny OpenAI-compatible server runs on 127.0.0.1 and the real ``openai``
client talks to it. It plays two roles: the support model under test (its reply
follows the prompt: the "short" prompt gets a bare answer, the "friendly" one a
sentence around it) and the judge model (it grades an answer against the
reference). What the example does:

1. ``llmtrace.evaluate`` runs 8 cases once per prompt version, scores each answer
   with a plain function and with ``llmtrace.judge`` (an LLM as a judge), and
   reads cost, tokens and latency from each case's trace.
2. It prints the report (the two versions side by side), saves it as JSON and
   Markdown in OUTPUT_DIR (default: a new temporary directory), and compares
   the two versions the way CI would: ``python -m llmtrace.eval compare``.

Set ``OTEL_EXPORTER_OTLP_ENDPOINT`` (e.g. a local Phoenix, http://127.0.0.1:6006)
to also see every case's trace, scores included, in a collector.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from openai import OpenAI

import llmtrace
from llmtrace.eval import Case, compare

SUPPORT_MODEL = "support-llm"
JUDGE_MODEL = "judge-llm"

FACTS = {
    "How long is the warranty?": "2 years",
    "Which payment methods do you accept?": "card and bank transfer",
    "How long does shipping take?": "3 days",
    "Can I return an opened item?": "yes, within 30 days",
    "Do you ship abroad?": "EU only",
    "What are your opening hours?": "9:00 to 17:00",
    "Is there a student discount?": "10 percent",
    "How do I reset my password?": "use the login page link",
}
CASES = [Case(q, expected=a, id=f"faq-{i}") for i, (q, a) in enumerate(FACTS.items())]

SHORT = llmtrace.Prompt(
    "support-answer",
    [
        {"role": "system", "content": "Answer with the fact only, no sentence."},
        {"role": "user", "content": "{question}"},
    ],
)
FRIENDLY = llmtrace.Prompt(
    "support-answer",
    [
        {"role": "system", "content": "Answer warmly, in a full sentence."},
        {"role": "user", "content": "{question}"},
    ],
)

_GRADED = re.compile(r"Reference answer:\n(.*)\n\nAnswer to grade:\n(.*)", re.DOTALL)


def model_reply(model: str, messages: list[dict[str, str]]) -> str:
    """The local "models": canned support answers, and a judge that compares texts."""
    if model == JUDGE_MODEL:
        found = _GRADED.search(messages[-1]["content"])
        reference, answer = (found.group(1), found.group(2)) if found else ("", "")
        if answer.strip() == reference.strip():
            return "correct: same as the reference."
        if reference.lower() in answer.lower():
            return "partially_correct: right fact, but padded."
        return "incorrect: the fact is missing."
    fact = FACTS.get(messages[-1]["content"], "I am not sure")
    if "fact only" in messages[0]["content"]:
        return fact
    return f"Thanks for asking! The answer is: {fact}. Anything else I can help with?"


class FakeOpenAI(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = model_reply(body["model"], body["messages"])
        prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
        payload = json.dumps(
            {
                "id": "chatcmpl-eval",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": f"{body['model']}-2025-06",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": len(text.split()),
                    "total_tokens": prompt_tokens + len(text.split()),
                },
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return None


def main(output_dir: Path) -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    llmtrace.init(
        service_name="support-eval",
        console=False,  # no collector: the report is the product
        metrics=False,
        prices={  # USD per 1M tokens, for the local models
            "models": {
                f"{SUPPORT_MODEL}*": {"input": 0.5, "output": 1.5},
                f"{JUDGE_MODEL}*": {"input": 1.0, "output": 3.0},
            }
        },
    )
    client = OpenAI(base_url=f"http://127.0.0.1:{server.server_port}/v1", api_key="unused")

    def answer(question: str, variant: llmtrace.Prompt) -> str:
        reply = client.chat.completions.create(
            model=SUPPORT_MODEL, messages=variant.format(question=question)
        )
        return reply.choices[0].message.content or ""

    def mentions_fact(output: str, expected: str) -> bool:
        return expected.lower() in output.lower()

    def concise(output: str) -> float:
        return 1.0 if len(output.split()) <= 8 else 8 / len(output.split())

    grade = llmtrace.judge(client, model=JUDGE_MODEL)
    result = llmtrace.evaluate(
        CASES,
        answer,
        [mentions_fact, concise, grade],
        name="support-answer",
        variants={"short": SHORT, "friendly": FRIENDLY},
    )
    print(result.report())
    saved = result.write_json(output_dir / "support-answer.json")
    result.write_markdown(output_dir / "support-answer.md")
    print(f"\nsaved {saved} and {saved.with_suffix('.md')}")

    # What CI would do between a baseline and a candidate; here: short -> friendly.
    gate = compare(
        result, result, pairs=[("short", "friendly")], max_score_drop=0.05, max_cost_increase="10%"
    )
    print("\nshort -> friendly, as `python -m llmtrace.eval compare` would judge it:")
    print(gate.text())

    llmtrace.shutdown()
    client.close()
    server.shutdown()
    return 0


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="eval-"))
    target.mkdir(parents=True, exist_ok=True)
    sys.exit(main(target))
