"""Where the MCP test processes send their spans: ``JsonLinesExporter`` appends each
finished span as one JSON line (no collector needed; read back with ``read_spans``), or,
for the Phoenix end-to-end variant, OTLP/HTTP into a Phoenix project.

``init_llmtrace(target, service_name)`` takes ``PATH`` or ``otlp=ENDPOINT|PROJECT``."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class JsonLinesExporter(SpanExporter):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [json.dumps(as_dict(span)) + "\n" for span in spans]
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.writelines(lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def as_dict(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.get_span_context()
    assert ctx is not None
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{ctx.trace_id:032x}",
        "span_id": f"{ctx.span_id:016x}",
        "parent_span_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "attributes": dict(span.attributes or {}),
        "status": span.status.status_code.name,
        "service": (span.resource.attributes.get("service.name") if span.resource else None),
        "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
    }


def init_llmtrace(target: str, service_name: str) -> None:
    import llmtrace

    if target.startswith("otlp="):
        endpoint, project = target[len("otlp=") :].split("|", 1)
        llmtrace.init(
            endpoint=endpoint,
            service_name=service_name,
            resource_attributes={"openinference.project.name": project},
        )
    else:
        llmtrace.init(exporter=JsonLinesExporter(target), service_name=service_name)


def read_spans(path: str | Path) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line]
