"""End to end with Phoenix and MLflow together (#17): one app exporting to both at once,
and Phoenix's view of llmtrace's spans with the interop switch on.

Needs both servers (see ``conftest.py`` for Phoenix, ``test_mlflow_e2e.py`` for MLflow).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

import llmtrace
from llmtrace import semconv
from tests.e2e.test_mlflow_e2e import EXPERIMENT_HEADER, MLflow, mlflow  # noqa: F401 - the fixture
from tests.support.phoenix_server import PROJECT_ATTRIBUTE, Phoenix, find, unique_project

pytestmark = pytest.mark.e2e


@llmtrace.trace(kind="tool")
def lookup(order: str) -> str:
    return f"{order}: shipped"


@llmtrace.trace(kind="workflow")
def support(question: str) -> str:
    return lookup("o-1") + " / " + question


def test_one_app_exports_to_phoenix_and_mlflow_at_once(
    phoenix: Phoenix,
    mlflow: MLflow,  # noqa: F811 - the fixture imported above
) -> None:
    project = unique_project("e2e-both")
    experiment = mlflow.create_experiment("e2e-both")
    llmtrace.init(
        exporter=[
            OTLPSpanExporter(endpoint=phoenix.http_endpoint + "/v1/traces"),
            OTLPSpanExporter(
                endpoint=mlflow.url + "/v1/traces", headers={EXPERIMENT_HEADER: experiment}
            ),
        ],
        resource_attributes={PROJECT_ATTRIBUTE: project},
        instrument=False,
        metrics=False,
    )
    support("Where is my order?")
    assert llmtrace.shutdown(timeout=30)

    names = ["execute_tool lookup", "invoke_workflow support"]
    assert sorted(s["name"] for s in phoenix.spans(project, min_count=2)) == names
    assert sorted(s["name"] for s in mlflow.spans(experiment, min_count=2)) == names


def test_phoenix_shows_workflow_tool_and_evaluation_spans_with_their_kind_and_content(
    phoenix: Phoenix,
) -> None:
    project = unique_project("e2e-interop")
    llmtrace.init(
        endpoint=phoenix.http_endpoint,
        resource_attributes={PROJECT_ATTRIBUTE: project},
        instrument=False,
        metrics=False,
        capture_content=True,
        prompt_interop=True,
    )
    with llmtrace.session(session_id="s-interop"):
        with llmtrace.span("answer", kind="workflow") as span:
            span.set_input({"question": "Hi"})
            span.set_output("Hello!")
    assert llmtrace.record_score("helpful", 1.0, label="thumbs_up", span=span)
    assert llmtrace.shutdown(timeout=30)

    spans = phoenix.spans(project, min_count=2)
    workflow: dict[str, Any] = find(spans, "invoke_workflow answer")["attributes"]
    assert workflow[semconv.OPENINFERENCE_SPAN_KIND] == "CHAIN"
    assert json.loads(workflow[semconv.OPENINFERENCE_INPUT_VALUE]) == {"question": "Hi"}
    assert json.loads(workflow[semconv.OPENINFERENCE_OUTPUT_VALUE]) == "Hello!"
    evaluation: dict[str, Any] = find(spans, "evaluation helpful")["attributes"]
    assert evaluation[semconv.OPENINFERENCE_SPAN_KIND] == "EVALUATOR"
    assert json.loads(evaluation[semconv.OPENINFERENCE_OUTPUT_VALUE])["score"] == 1.0
