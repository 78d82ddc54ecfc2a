"""End to end: spans llmtrace exports over OTLP/HTTP arrive intact in a real MLflow server.

Each test writes to its own MLflow experiment (the ``x-mlflow-experiment-id`` header)
and reads the traces back with MLflow's own client, run in MLflow's venv: span names,
parentage, attributes, and that nothing is lost when a short script simply exits.
Skipped unless ``LLMTRACE_MLFLOW_URL`` and ``LLMTRACE_MLFLOW_PYTHON`` name a running
server (``.ci/mlflow.sh start``; ``.ci/run`` does it), except under CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

import llmtrace
from llmtrace import semconv
from llmtrace._genai.lifecycle import LLMInvocation
from llmtrace._genai.tokens import Usage
from tests.support.mlflow_server import EXPERIMENT_HEADER, MLflow, children, find

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def mlflow() -> MLflow:
    server = MLflow.from_environment()
    if server is None:
        reason = (
            "no MLflow: start one with `.ci/mlflow.sh start <venv> <workdir>` and source "
            "<workdir>/mlflow.env (sets LLMTRACE_MLFLOW_URL and LLMTRACE_MLFLOW_PYTHON)"
        )
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on"):
            pytest.fail(f"end-to-end tests must run under CI, but {reason}", pytrace=False)
        pytest.skip(reason)
    if not server.healthy(timeout=10):
        pytest.fail(f"LLMTRACE_MLFLOW_URL={server.url} does not answer /health", pytrace=False)
    return server


@pytest.fixture(autouse=True)
def _no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    keep = ("LLMTRACE_MLFLOW", "LLMTRACE_RAISE_INTERNAL_ERRORS")
    for var in list(os.environ):
        if var.startswith(("OTEL_", "LLMTRACE_")) and not var.startswith(keep):
            monkeypatch.delenv(var, raising=False)
    yield
    llmtrace.shutdown(timeout=5)


def content(value: Any) -> Any:
    """A JSON content attribute's value; MLflow's client hands most back already decoded."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # a JSON string MLflow decoded to its text


def call_model(question: str) -> str:
    inv = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o-mini")
    inv.start()
    inv.response_model = "gpt-4o-mini-2024-07-18"
    inv.finish_reasons = ["stop"]
    inv.usage = Usage(input_tokens=1200, output_tokens=300)
    inv.stop()
    return f"answer to {question}"


@llmtrace.trace(kind="tool")
def lookup(order: str) -> str:
    return f"{order}: shipped"


@llmtrace.trace(kind="workflow")
def support(question: str) -> str:
    return call_model(question + lookup("o-1"))


def test_a_workflow_arrives_with_its_tree_and_attributes(mlflow: MLflow) -> None:
    experiment = mlflow.create_experiment("e2e-tree")
    # Metrics on, as by default: MLflow has no /v1/metrics; the traces must arrive anyway.
    llmtrace.init(
        endpoint=mlflow.url,
        headers={EXPERIMENT_HEADER: experiment},
        capture_content=True,
        instrument=False,
    )
    with llmtrace.session(session_id="s-7", user_id="u-1"):
        support("Where is my order?")
    assert llmtrace.shutdown(timeout=30), "llmtrace reports spans lost on the way to MLflow"

    spans = mlflow.spans(experiment, min_count=3)
    assert sorted(s["name"] for s in spans) == [
        "chat gpt-4o-mini",
        "execute_tool lookup",
        "invoke_workflow support",
    ]
    assert len({s["trace_id"] for s in spans}) == 1
    root = find(spans, "invoke_workflow support")
    assert root["parent_id"] is None
    assert children(spans, root) == ["chat gpt-4o-mini", "execute_tool lookup"]

    for span in spans:
        assert span["attributes"][semconv.SESSION_ID] == "s-7", span["name"]
        assert span["attributes"][semconv.USER_ID] == "u-1", span["name"]
    workflow = root["attributes"]
    assert workflow[semconv.GEN_AI_OPERATION_NAME] == "invoke_workflow"
    assert content(workflow[semconv.LLMTRACE_INPUT]) == {"question": "Where is my order?"}
    assert workflow[semconv.LLMTRACE_USAGE_TOTAL_INPUT_TOKENS] == 1200
    tool = find(spans, "execute_tool lookup")["attributes"]
    assert content(tool[semconv.GEN_AI_TOOL_CALL_RESULT]) == "o-1: shipped"
    llm = find(spans, "chat gpt-4o-mini")["attributes"]
    assert llm[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 1200
    assert llm[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 300
    assert llm[semconv.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    # Priced with a plain install (genai-prices is a core dependency).
    assert llm[semconv.GEN_AI_USAGE_COST_AMOUNT] > 0


_SHORT_SCRIPT = """
import sys
import llmtrace

llmtrace.init(service_name="short-script", instrument=False)

@llmtrace.trace(kind="workflow")
def handle(i):
    with llmtrace.span("step", kind="task"):
        return i

for i in range(int(sys.argv[1])):
    handle(i)
# No shutdown(): the exit hook must deliver everything at the default settings.
"""


def test_a_short_script_loses_nothing_at_exit(mlflow: MLflow) -> None:
    experiment = mlflow.create_experiment("e2e-exit")
    traces = 300
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMTRACE_"))}
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = mlflow.url
    env["OTEL_EXPORTER_OTLP_HEADERS"] = f"{EXPERIMENT_HEADER}={experiment}"
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_SHORT_SCRIPT), str(traces)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "dropped" not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr

    spans = mlflow.spans(experiment, min_count=2 * traces)
    assert len(spans) == 2 * traces
    roots = [s for s in spans if s["parent_id"] is None]
    assert len(roots) == traces
    by_id = {s["span_id"]: s for s in spans}
    for span in spans:
        if span["name"] == "step":
            assert by_id[span["parent_id"]]["name"] == "invoke_workflow handle"
