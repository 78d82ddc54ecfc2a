"""OpenInference keys for Arize Phoenix, written with ``init(prompt_interop=True)``.

Phoenix files a span by ``openinference.span.kind`` and shows (and fills a session's
first input and last output from) ``input.value`` / ``output.value``; without them
llmtrace's workflow, task and evaluation spans appear as kind UNKNOWN with empty
input and output. These helpers map llmtrace's own keys onto OpenInference's::

    content = openinference_content("workflow", {"llmtrace.input": '{"q": "Hi"}'})
    # {"llmtrace.input": ..., "openinference.span.kind": "CHAIN",
    #  "input.value": '{"q": "Hi"}', "input.mime_type": "application/json"}

Content (``input.value``, ``output.value``) is copied only from what content capture
already recorded: the switch never records more than ``capture_content`` allows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from opentelemetry.util.types import AttributeValue

from . import semconv

# llmtrace span kinds -> OpenInference span kinds.
SPAN_KINDS: Mapping[str, str] = {
    "workflow": "CHAIN",
    "task": "CHAIN",
    "agent": "AGENT",
    "tool": "TOOL",
    "retriever": "RETRIEVER",
    "embedding": "EMBEDDING",
    "llm": "LLM",
    "evaluation": "EVALUATOR",
}
_JSON = "application/json"
_CONTENT_KEYS = (
    (
        semconv.LLMTRACE_INPUT,
        semconv.OPENINFERENCE_INPUT_VALUE,
        semconv.OPENINFERENCE_INPUT_MIME_TYPE,
    ),
    (
        semconv.LLMTRACE_OUTPUT,
        semconv.OPENINFERENCE_OUTPUT_VALUE,
        semconv.OPENINFERENCE_OUTPUT_MIME_TYPE,
    ),
)


def openinference_content(kind: str, content: dict[str, str] | None) -> dict[str, str]:
    """``content`` (llmtrace's serialised input/output, or None) plus OpenInference's keys."""
    result = dict(content) if content else {}
    result[semconv.OPENINFERENCE_SPAN_KIND] = SPAN_KINDS.get(kind, "CHAIN")
    for ours, value_key, mime_key in _CONTENT_KEYS:
        text = result.get(ours)
        if text is not None:
            result[value_key] = text  # llmtrace's content attributes are JSON
            result[mime_key] = _JSON
    return result


def evaluation_attributes(event: Mapping[str, AttributeValue]) -> dict[str, AttributeValue]:
    """Kind EVALUATOR, and the result (name, score, label, explanation) as the output."""
    result = {field: event[key] for field, key in _EVALUATION_FIELDS if event.get(key) is not None}
    return {
        semconv.OPENINFERENCE_SPAN_KIND: SPAN_KINDS["evaluation"],
        semconv.OPENINFERENCE_OUTPUT_VALUE: json.dumps(result, ensure_ascii=False),
        semconv.OPENINFERENCE_OUTPUT_MIME_TYPE: _JSON,
    }


_EVALUATION_FIELDS = (
    ("name", semconv.GEN_AI_EVALUATION_NAME),
    ("score", semconv.GEN_AI_EVALUATION_SCORE_VALUE),
    ("label", semconv.GEN_AI_EVALUATION_SCORE_LABEL),
    ("explanation", semconv.GEN_AI_EVALUATION_EXPLANATION),
)
