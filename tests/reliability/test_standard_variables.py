"""Malformed standard OTEL_* variables, read by the OpenTelemetry SDK and exporters rather
than by llmtrace, never raise out of ``init()`` and never log once per call: one warning
names the variable, the default is used, and the spans still reach the collector.

Each case runs in a fresh interpreter: some of these variables are read when the SDK is
imported, and the global TracerProvider can be set only once per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.support.reliability import GrpcCollector, OTLPHttpCollector

APP = textwrap.dedent(
    """
    import json, logging, sys

    class Count(logging.Handler):
        records = []

        def emit(self, record):
            Count.records.append((record.name, record.levelname, record.getMessage()))

    logging.getLogger().addHandler(Count())
    logging.getLogger().setLevel(logging.WARNING)

    import llmtrace

    @llmtrace.trace(name="work")
    def work(n):
        return n + 1

    endpoint, protocol, use_init = sys.argv[1], sys.argv[2], sys.argv[3] == "init"
    if use_init:
        llmtrace.init(endpoint=endpoint, protocol=protocol, instrument=False, metrics=True,
                      service_name="env", shutdown_timeout=5)
    results = [work(i) for i in range(50)]
    assert results == list(range(1, 51))
    flushed = llmtrace.force_flush(timeout=10) if use_init else True
    print(json.dumps({"flushed": flushed, "records": Count.records}))
    """
)

# variable -> (value, protocols to try)
MALFORMED = {
    "OTEL_EXPORTER_OTLP_COMPRESSION": ("gzipp", ("http/protobuf", "grpc")),
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": ("zstd", ("http/protobuf", "grpc")),
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": ("abc", ("http/protobuf",)),
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": ("-1", ("http/protobuf",)),
    "OTEL_SPAN_EVENT_COUNT_LIMIT": ("ten", ("http/protobuf",)),
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": ("-5", ("http/protobuf",)),
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT": ("x", ("http/protobuf",)),
    "OTEL_METRICS_EXEMPLAR_FILTER": ("sometimes", ("http/protobuf",)),
    "OTEL_PYTHON_TRACER_PROVIDER": ("bogus", ("http/protobuf", "grpc")),
}
CASES = [(var, protocol) for var, (_, protocols) in MALFORMED.items() for protocol in protocols]


def _run(var: str, endpoint: str, protocol: str, mode: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMTRACE_"))}
    env[var] = MALFORMED[var][0]
    process = subprocess.run(
        [sys.executable, "-c", APP, endpoint, protocol, mode],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert "Traceback" not in process.stderr, process.stderr
    result: dict[str, object] = json.loads(process.stdout.strip().splitlines()[-1])
    return result


def _ours(records: object, var: str) -> list[str]:
    assert isinstance(records, list)
    return [message for name, level, message in records if var in message and name == "llmtrace"]


@pytest.mark.parametrize(("var", "protocol"), CASES)
def test_a_malformed_standard_variable_warns_once_and_init_works(var: str, protocol: str) -> None:
    collector = GrpcCollector() if protocol == "grpc" else OTLPHttpCollector()
    with collector:
        result = _run(var, collector.endpoint, protocol, "init")
        assert result["flushed"] is True
        assert collector.wait_for_spans(50)
        assert collector.span_count == 50
    warnings = _ours(result["records"], var)
    assert len(warnings) == 1, result["records"]
    assert "using the default" in warnings[0]


def test_a_bogus_tracer_provider_variable_costs_no_log_line_per_call_without_init() -> None:
    var = "OTEL_PYTHON_TRACER_PROVIDER"
    result = _run(var, "http://127.0.0.1:9", "http/protobuf", "no-init")
    records = result["records"]
    assert isinstance(records, list)
    assert len(_ours(records, var)) == 1
    # The API itself reports the failed load once; nothing is logged per call.
    assert len(records) <= 2, records
