"""End to end: spans llmtrace exports over real OTLP (HTTP and gRPC) arrive intact in Phoenix.

Every test sends to its own Phoenix project (the ``openinference.project.name``
resource attribute), shuts llmtrace down so everything is flushed, then reads the
spans back over Phoenix's REST API: only the read-back proves they arrived.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.trace.export import SpanExporter

import llmtrace
from llmtrace import semconv
from llmtrace._genai.lifecycle import LLMInvocation
from llmtrace._genai.tokens import Usage
from tests.support.phoenix_server import (
    PROJECT_ATTRIBUTE,
    Phoenix,
    children,
    find,
    free_port,
    unique_project,
)

pytestmark = pytest.mark.e2e

PROTOCOLS = ["http/protobuf", "grpc"]
QUESTION = "¿Qué es OTLP? ☕ — «naïve» 日本語"


@pytest.fixture(autouse=True)
def _no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exporter settings come from each test, never from the machine running the suite."""
    for var in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_SERVICE_NAME",
        "OTEL_SDK_DISABLED",
        "LLMTRACE_EXPORTER",
    ):
        monkeypatch.delenv(var, raising=False)


def endpoint(phoenix: Phoenix, protocol: str) -> str:
    return phoenix.grpc_endpoint if protocol == "grpc" else phoenix.http_endpoint


def start_tracing(phoenix: Phoenix, protocol: str, project: str, **settings: Any) -> None:
    """init() as docs/collectors.md advises for Phoenix: its project, metrics off."""
    llmtrace.init(
        endpoint=endpoint(phoenix, protocol),
        protocol=protocol,
        resource_attributes={PROJECT_ATTRIBUTE: project},
        instrument=False,
        **{"metrics": False, **settings},
    )


def stop_tracing() -> None:
    assert llmtrace.shutdown(timeout=15), "llmtrace reports spans lost on the way to Phoenix"


# -- the traced application ---------------------------------------------------------------
local_ids: dict[str, str] = {}


@llmtrace.trace(kind="tool")
def search_docs(query: str) -> list[str]:
    return [f"notes on {query}", "OTLP specification"]


@llmtrace.trace(name="retrieve")
def retrieve(query: str) -> list[str]:
    return search_docs(query)


def call_model(question: str, docs: list[str]) -> str:
    """An LLM call recorded through the invocation record every provider uses."""
    inv = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o-mini")
    inv.start()
    inv.input_messages = [{"role": "user", "parts": [{"type": "text", "content": question}]}]
    answer = f"OTLP carries telemetry ({len(docs)} sources)."
    inv.response_model = "gpt-4o-mini-2024-07-18"
    inv.finish_reasons = ["stop"]
    inv.usage = Usage(input_tokens=12, output_tokens=5)
    inv.stop()
    return answer


@llmtrace.trace(kind="workflow")
def answer(question: str) -> str:
    context = otel_trace.get_current_span().get_span_context()
    local_ids["trace_id"] = format(context.trace_id, "032x")
    local_ids["span_id"] = format(context.span_id, "016x")
    return call_model(question, retrieve(question))


class PaymentDeclined(Exception):
    pass


@llmtrace.trace(kind="agent")
def charge(amount: float) -> None:
    raise PaymentDeclined(f"card declined for {amount}")


@llmtrace.trace(kind="workflow")
def checkout(amount: float) -> None:
    charge(amount)


# -- tests --------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_workflow_arrives_with_its_tree_ids_session_and_attributes(
    phoenix: Phoenix, protocol: str
) -> None:
    project = unique_project("e2e-workflow")
    # Metrics on, as by default: Phoenix rejects them, and the traces must arrive regardless.
    start_tracing(phoenix, protocol, project, capture_content=True, metrics=True)
    with llmtrace.session(
        session_id="s-42", user_id="u-7", tags=["beta"], metadata={"plan": "pro"}
    ):
        result = answer(QUESTION)
    stop_tracing()

    spans = phoenix.spans(project, min_count=4)
    assert sorted(s["name"] for s in spans) == [
        "chat gpt-4o-mini",
        "execute_tool search_docs",
        "invoke_workflow answer",
        "retrieve",
    ]
    root = find(spans, "invoke_workflow answer")
    assert (root["trace_id"], root["span_id"]) == (local_ids["trace_id"], local_ids["span_id"])
    assert root["parent_span_id"] is None
    assert {s["trace_id"] for s in spans} == {local_ids["trace_id"]}
    assert [s["name"] for s in children(spans, root)] == ["retrieve", "chat gpt-4o-mini"]
    retrieve_span = find(spans, "retrieve")
    assert [s["name"] for s in children(spans, retrieve_span)] == ["execute_tool search_docs"]

    for span in spans:
        attributes = span["attributes"]
        assert attributes[semconv.SESSION_ID] == "s-42", span["name"]
        assert attributes[semconv.USER_ID] == "u-7", span["name"]
        assert attributes[semconv.LLMTRACE_TAGS] == ["beta"], span["name"]
        assert attributes[semconv.LLMTRACE_METADATA_PREFIX + "plan"] == "pro", span["name"]
        assert span["status"]["code"] == "UNSET", span["name"]

    assert_workflow_attributes(root["attributes"], result)
    assert_tool_attributes(find(spans, "execute_tool search_docs")["attributes"])
    assert_llm_attributes(find(spans, "chat gpt-4o-mini")["attributes"])


def assert_workflow_attributes(attributes: dict[str, Any], result: str) -> None:
    assert attributes[semconv.LLMTRACE_SPAN_KIND] == "workflow"
    assert attributes[semconv.GEN_AI_OPERATION_NAME] == "invoke_workflow"
    assert attributes[semconv.GEN_AI_WORKFLOW_NAME] == "answer"
    # Non-ASCII content survives the trip as valid JSON.
    assert json.loads(attributes[semconv.LLMTRACE_INPUT]) == {"question": QUESTION}
    assert json.loads(attributes[semconv.LLMTRACE_OUTPUT]) == result
    # Roll-ups of the LLM call beneath.
    assert attributes[semconv.LLMTRACE_LLM_CALL_COUNT] == 1
    assert attributes[semconv.LLMTRACE_USAGE_TOTAL_INPUT_TOKENS] == 12
    assert attributes[semconv.LLMTRACE_USAGE_TOTAL_OUTPUT_TOKENS] == 5


def assert_tool_attributes(attributes: dict[str, Any]) -> None:
    assert attributes[semconv.LLMTRACE_SPAN_KIND] == "tool"
    assert attributes[semconv.GEN_AI_OPERATION_NAME] == "execute_tool"
    assert attributes[semconv.GEN_AI_TOOL_NAME] == "search_docs"
    assert json.loads(attributes[semconv.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"query": QUESTION}
    assert json.loads(attributes[semconv.GEN_AI_TOOL_CALL_RESULT]) == [
        f"notes on {QUESTION}",
        "OTLP specification",
    ]


def assert_llm_attributes(attributes: dict[str, Any]) -> None:
    assert attributes[semconv.GEN_AI_OPERATION_NAME] == "chat"
    assert attributes[semconv.GEN_AI_PROVIDER_NAME] == "openai"
    assert attributes[semconv.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert attributes[semconv.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert attributes[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ["stop"]
    assert attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 12
    assert attributes[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 5
    messages = json.loads(attributes[semconv.GEN_AI_INPUT_MESSAGES])
    assert messages[0]["parts"][0]["content"] == QUESTION


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_exception_arrives_as_error_status_with_its_exception_event(
    phoenix: Phoenix, protocol: str
) -> None:
    project = unique_project("e2e-error")
    start_tracing(phoenix, protocol, project)
    with pytest.raises(PaymentDeclined, match=r"card declined for 12\.5"):
        checkout(12.5)
    stop_tracing()

    spans = phoenix.spans(project, min_count=2)
    failed = find(spans, "invoke_agent charge")
    assert failed["status"] == {
        "code": "ERROR",
        "message": "PaymentDeclined: card declined for 12.5",
    }
    assert failed["attributes"][semconv.ERROR_TYPE] == "PaymentDeclined"
    [event] = failed["events"]
    assert event["name"] == "exception"
    assert event["attributes"]["exception.type"] == f"{__name__}.PaymentDeclined"
    assert event["attributes"]["exception.message"] == "card declined for 12.5"
    assert "raise PaymentDeclined" in event["attributes"]["exception.stacktrace"]
    # The exception passed through the workflow too.
    workflow = find(spans, "invoke_workflow checkout")
    assert failed["parent_span_id"] == workflow["span_id"]
    assert workflow["status"]["code"] == "ERROR"


@pytest.mark.parametrize("via", ["argument", "environment"])
def test_http_headers_reach_the_collector(
    phoenix: Phoenix, via: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Phoenix files OTLP/HTTP spans under the project its x-project-name header names,
    # ahead of the resource attribute: the spans' project shows the header arrived.
    project, decoy = unique_project("e2e-headers"), unique_project("e2e-decoy")
    headers = {"x-project-name": project, "Authorization": "Bearer e2e-token"}
    if via == "environment":
        monkeypatch.setenv(
            "OTEL_EXPORTER_OTLP_HEADERS",
            f"x-project-name={project},Authorization=Bearer%20e2e-token",
        )
        start_tracing(phoenix, "http/protobuf", decoy)
    else:
        start_tracing(phoenix, "http/protobuf", decoy, headers=headers)
    with llmtrace.span("with headers"):
        pass
    stop_tracing()

    assert [s["name"] for s in phoenix.spans(project)] == ["with headers"]
    assert phoenix.read_spans(decoy) == []


@pytest.mark.parametrize("via", ["argument", "environment"])
def test_grpc_headers_with_mixed_case_keys_do_not_break_export(
    phoenix: Phoenix, via: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # gRPC metadata keys must be lowercase; users write "Authorization" (Grafana Cloud's
    # own snippet does), so llmtrace must normalise them or every export fails.
    project = unique_project("e2e-grpc-headers")
    if via == "environment":
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Basic%20ZTJlOnRva2Vu")
        start_tracing(phoenix, "grpc", project)
    else:
        headers = {"Authorization": "Basic ZTJlOnRva2Vu", "X-Tenant": "acme"}
        start_tracing(phoenix, "grpc", project, headers=headers)
    with llmtrace.span("with grpc headers"):
        pass
    stop_tracing()

    assert [s["name"] for s in phoenix.spans(project)] == ["with grpc headers"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_standard_otel_environment_variables_alone_configure_export(
    phoenix: Phoenix, protocol: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = unique_project("e2e-env")
    if protocol == "grpc":
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", phoenix.grpc_endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    else:  # the signal-specific variable, with the full /v1/traces URL
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", phoenix.traces_url)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", f"{PROJECT_ATTRIBUTE}={project}")
    llmtrace.init(instrument=False)
    answer("env?")
    stop_tracing()

    spans = phoenix.spans(project, min_count=4)
    assert find(spans, "invoke_workflow answer")["parent_span_id"] is None


def test_init_after_shutdown_exports_with_the_new_settings(phoenix: Phoenix) -> None:
    first, second = unique_project("e2e-reinit-a"), unique_project("e2e-reinit-b")
    start_tracing(phoenix, "http/protobuf", first)
    with llmtrace.span("first setup"):
        pass
    stop_tracing()
    start_tracing(phoenix, "http/protobuf", second)
    with llmtrace.span("second setup"):
        pass
    stop_tracing()

    where = wait_for_span_in_any(phoenix, [first, second], "second setup")
    assert where == second
    assert [s["name"] for s in phoenix.spans(first)] == ["first setup"]


def wait_for_span_in_any(phoenix: Phoenix, projects: list[str], name: str) -> str:
    """The project in which a span called ``name`` shows up first."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for project in projects:
            if any(s["name"] == name for s in phoenix.read_spans(project)):
                return project
        time.sleep(0.2)
    raise AssertionError(f"no span {name!r} arrived in any of {projects}")


# -- a dead collector ---------------------------------------------------------------------
class StuckExport:
    """Makes the OTLP exporters' export() hang until released, recording who called it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.threads: list[str] = []
        self.span_names: list[str] = []

    def patch(self, monkeypatch: pytest.MonkeyPatch, exporter_class: type[SpanExporter]) -> None:
        real = exporter_class.export

        def export(exporter: Any, spans: Any) -> Any:
            self.threads.append(threading.current_thread().name)
            self.span_names.extend(span.name for span in spans)
            self.entered.set()
            self.release.wait(60)
            return real(exporter, spans)

        monkeypatch.setattr(exporter_class, "export", export)


@pytest.fixture
def stuck_export(monkeypatch: pytest.MonkeyPatch) -> Iterator[StuckExport]:
    stuck = StuckExport()
    stuck.patch(monkeypatch, GrpcSpanExporter)
    stuck.patch(monkeypatch, HttpSpanExporter)
    yield stuck
    stuck.release.set()


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_dead_collector_never_holds_up_the_traced_call(
    stuck_export: StuckExport, protocol: str
) -> None:
    closed_port = free_port()  # nothing listens there
    llmtrace.init(
        endpoint=f"http://127.0.0.1:{closed_port}",
        protocol=protocol,
        instrument=False,
        metrics=False,
        export_timeout=2,
    )
    assert answer("first") == "OTLP carries telemetry (2 sources)."

    # The export runs later, on llmtrace's own thread, after the call has returned ...
    assert stuck_export.entered.wait(20), "the exporter was never called"
    assert threading.current_thread().name not in stuck_export.threads
    assert "invoke_workflow answer" in stuck_export.span_names

    # ... and while that export hangs on the dead collector, traced calls go on.
    results: list[str] = []
    worker = threading.Thread(target=lambda: results.extend(answer(str(i)) for i in range(20)))
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), "a traced call waited for the stuck export"
    assert len(results) == 20

    stuck_export.release.set()
    assert llmtrace.shutdown(timeout=1) is False  # the spans were lost, and shutdown says so
