"""A running MLflow tracking server, as the MLflow end-to-end tests see it.

``.ci/mlflow.sh start <venv> <workdir>`` starts one and writes ``<workdir>/mlflow.env``
with ``LLMTRACE_MLFLOW_URL`` (the server) and ``LLMTRACE_MLFLOW_PYTHON`` (a Python with
``mlflow`` installed, used to read traces back with MLflow's own client: MLflow and its
pinned dependencies never enter the environment llmtrace is tested in).

MLflow accepts OTLP/HTTP traces at ``/v1/traces`` and files them under the experiment
named by the ``x-mlflow-experiment-id`` header.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

EXPERIMENT_HEADER = "x-mlflow-experiment-id"

# Runs in the MLflow venv: every trace of one experiment as JSON, spans with their
# parent ids and attributes as MLflow decoded them.
_READ_TRACES = """
import json, sys
import mlflow

traces = mlflow.search_traces(locations=[sys.argv[1]], return_type="list", max_results=10000)
out = []
for trace in traces:
    out.append({
        "trace_id": trace.info.trace_id,
        "spans": [
            {
                "name": span.name,
                "span_id": span.span_id,
                "parent_id": span.parent_id,
                "status": str(span.status.status_code),
                "attributes": {k: v for k, v in span.attributes.items()},
            }
            for span in trace.data.spans
        ],
    })
json.dump(out, sys.stdout, default=str)
"""


@dataclass(frozen=True)
class MLflow:
    url: str
    python: str

    @classmethod
    def from_environment(cls) -> MLflow | None:
        url = os.environ.get("LLMTRACE_MLFLOW_URL", "").strip().rstrip("/")
        python = os.environ.get("LLMTRACE_MLFLOW_PYTHON", "").strip()
        return cls(url, python) if url and python else None

    def healthy(self, timeout: float = 5.0) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=timeout) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def create_experiment(self, prefix: str) -> str:
        """A new experiment (its id), so each test reads back only its own traces."""
        body = json.dumps({"name": f"{prefix}-{uuid.uuid4().hex[:12]}"}).encode()
        request = urllib.request.Request(
            self.url + "/api/2.0/mlflow/experiments/create",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.load(response)["experiment_id"])

    def traces(self, experiment_id: str) -> list[dict[str, Any]]:
        """Every trace of the experiment, read with MLflow's client in its own venv."""
        result = subprocess.run(
            [self.python, "-c", _READ_TRACES, experiment_id],
            env={**os.environ, "MLFLOW_TRACKING_URI": self.url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"reading MLflow traces failed:\n{result.stderr[-3000:]}")
        traces: list[dict[str, Any]] = json.loads(result.stdout)
        return traces

    def spans(self, experiment_id: str, min_count: int, timeout: float = 60.0) -> list[Any]:
        """All spans of the experiment once at least ``min_count`` are there (or the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            spans = [
                {**span, "trace_id": trace["trace_id"]}
                for trace in self.traces(experiment_id)
                for span in trace["spans"]
            ]
            if len(spans) >= min_count or time.monotonic() > deadline:
                return spans
            time.sleep(0.5)


def find(spans: list[dict[str, Any]], name: str) -> dict[str, Any]:
    matches = [s for s in spans if s["name"] == name]
    assert len(matches) == 1, f"{len(matches)} spans named {name!r}: {[s['name'] for s in spans]}"
    return matches[0]


def children(spans: list[dict[str, Any]], parent: dict[str, Any]) -> list[str]:
    return sorted(s["name"] for s in spans if s["parent_id"] == parent["span_id"])
