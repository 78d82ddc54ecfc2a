"""Arize Phoenix as a real OTLP receiver for the end-to-end tests.

The ``phoenix`` fixture (``tests/e2e/conftest.py``) hands tests a :class:`Phoenix`:

    def test_spans_arrive(phoenix: Phoenix) -> None:
        project = unique_project("my-test")
        llmtrace.init(
            endpoint=phoenix.http_endpoint,            # or phoenix.grpc_endpoint, protocol="grpc"
            resource_attributes={PROJECT_ATTRIBUTE: project},
            instrument=False,
        )
        work()
        llmtrace.shutdown()
        spans = phoenix.spans(project, min_count=3)   # polls until 3 spans arrived
        root = find(spans, "invoke_workflow answer")
        assert [s["name"] for s in children(spans, root)] == [...]

How Phoenix files incoming spans (phoenix ``server/api/routers/v1/traces.py: _add_spans``
and ``server/grpc_server.py``): each OTLP ``ResourceSpans`` goes to the project named by

1. the ``x-project-name`` request header (OTLP/HTTP only), else
2. the resource attribute ``openinference.project.name`` (:data:`PROJECT_ATTRIBUTE`), else
3. the project ``"default"``.

A project is created on first use, so give every test its own project name
(:func:`unique_project`) and tests never see each other's spans. Names must not contain
``/``, ``?`` or ``#`` (they are part of the read-back URL).

Ingestion is asynchronous (Phoenix queues spans and writes them in batches), and
``force_flush()`` says nothing about whether an export was accepted, so only reading
the spans back proves they arrived: :meth:`Phoenix.spans` polls
``GET /v1/projects/{project}/spans/otlpv1`` (newest first, cursor-paginated, at most
1000 a page) until ``min_count`` spans are there.

Each span comes back as a plain dict:

    {
        "name": "invoke_workflow answer",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",   # 32 hex digits
        "span_id": "00f067aa0ba902b7",                     # 16 hex digits
        "parent_span_id": None,                            # or the parent's span_id
        "start_time_unix_nano": 1700000000000000000,
        "end_time_unix_nano": 1700000000100000000,
        "attributes": {"session.id": "s-1", "gen_ai.usage.input_tokens": 12, ...},
        "events": [{"name": "exception", "time_unix_nano": ..., "attributes": {...}}],
        "links": [],                                       # Phoenix does not store links
        "status": {"code": "ERROR", "message": "ValueError: boom"},  # UNSET | OK | ERROR
    }

Attribute values are decoded to Python (str, int, float, bool, list). What Phoenix
changes on the way: it adds OpenInference attributes it derives from ``gen_ai.*``
(``openinference.span.kind``, ``llm.*``, ``input.value``, ``output.value``, ``tool.*``),
returns event attribute values of type bool as strings (``exception.escaped`` is
``"True"``), parses JSON strings under ``metadata`` and ``tool.parameters``, and reports
every span's kind as INTERNAL (so the dict has no ``kind``). Our own keys come back
unchanged.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ATTRIBUTE = "openinference.project.name"
DEFAULT_VENV = Path("/tmp/phoenix-venv")
_STATUS_NAMES = {0: "UNSET", 1: "OK", 2: "ERROR"}
_PAGE_SIZE = 1000

Span = dict[str, Any]


def unique_project(prefix: str) -> str:
    """A project name no other test (or earlier run against the same Phoenix) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Phoenix:
    """A running Phoenix: where to export, and how to read spans back."""

    http_endpoint: str
    grpc_endpoint: str

    @property
    def traces_url(self) -> str:
        """The full OTLP/HTTP traces URL (``http_endpoint`` + ``/v1/traces``)."""
        return self.http_endpoint + "/v1/traces"

    def healthy(self, timeout: float = 2.0) -> bool:
        try:
            with urllib.request.urlopen(self.http_endpoint + "/healthz", timeout=timeout) as r:
                return bool(r.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def spans(self, project: str, *, min_count: int = 1, timeout: float = 30) -> list[Span]:
        """Spans of ``project`` (oldest first) once at least ``min_count`` have arrived.

        Raises AssertionError naming what did arrive when ``timeout`` seconds pass first.
        """
        deadline = time.monotonic() + timeout
        found: list[Span] = []
        while True:
            found = self.read_spans(project)
            if len(found) >= min_count:
                return found
            if time.monotonic() >= deadline:
                names = sorted(s["name"] for s in found)
                raise AssertionError(
                    f"Phoenix at {self.http_endpoint} has {len(found)} span(s) in project "
                    f"{project!r} after {timeout:.0f} s, expected at least {min_count}: {names}"
                )
            time.sleep(0.2)

    def read_spans(self, project: str) -> list[Span]:
        """Every span of ``project`` now (no waiting); [] while the project does not exist."""
        raw: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self._get_page(project, cursor)
            if page is None:
                return []
            raw.extend(page.get("data") or [])
            cursor = page.get("next_cursor")
            if not cursor:
                break
        spans = [_decode_span(item) for item in raw]
        return sorted(spans, key=lambda s: (s["start_time_unix_nano"] or 0, s["span_id"]))

    def _get_page(self, project: str, cursor: str | None) -> dict[str, Any] | None:
        query = {"limit": str(_PAGE_SIZE)}
        if cursor:
            query["cursor"] = cursor
        url = (
            f"{self.http_endpoint}/v1/projects/{urllib.parse.quote(project, safe='')}"
            f"/spans/otlpv1?{urllib.parse.urlencode(query)}"
        )
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:  # the project is created when its first span is written
                return None
            raise
        page: dict[str, Any] = json.loads(body)
        return page


# -- reading spans ----------------------------------------------------------------------
def find(spans: Sequence[Span], name: str) -> Span:
    """The one span called ``name``; AssertionError if there is none or several."""
    matches = [s for s in spans if s["name"] == name]
    if len(matches) != 1:
        names = sorted(s["name"] for s in spans)
        raise AssertionError(f"expected one span named {name!r}, found {len(matches)}: {names}")
    return matches[0]


def children(spans: Sequence[Span], parent: Span) -> list[Span]:
    """The direct children of ``parent``, in start order."""
    return [s for s in spans if s["parent_span_id"] == parent["span_id"]]


def _decode_span(item: Mapping[str, Any]) -> Span:
    status = item.get("status") or {}
    return {
        "name": item.get("name"),
        "trace_id": item.get("trace_id"),
        "span_id": item.get("span_id"),
        "parent_span_id": item.get("parent_span_id") or None,
        "start_time_unix_nano": item.get("start_time_unix_nano"),
        "end_time_unix_nano": item.get("end_time_unix_nano"),
        "attributes": _decode_attributes(item.get("attributes")),
        "events": [
            {
                "name": event.get("name"),
                "time_unix_nano": event.get("time_unix_nano"),
                "attributes": _decode_attributes(event.get("attributes")),
            }
            for event in item.get("events") or []
        ],
        "links": list(item.get("links") or []),
        "status": {
            "code": _STATUS_NAMES.get(status.get("code") or 0, str(status.get("code"))),
            "message": status.get("message"),
        },
    }


def _decode_attributes(pairs: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    return {pair["key"]: _decode_value(pair.get("value") or {}) for pair in pairs or []}


def _decode_value(value: Mapping[str, Any]) -> Any:
    """An OTLP-JSON AnyValue as the Python value it stands for."""
    if value.get("string_value") is not None:
        return value["string_value"]
    if value.get("bool_value") is not None:
        return value["bool_value"]
    if value.get("int_value") is not None:
        return int(value["int_value"])  # OTLP JSON may carry 64-bit ints as strings
    if value.get("double_value") is not None:
        return float(value["double_value"])
    if value.get("array_value") is not None:
        return [_decode_value(v) for v in value["array_value"].get("values") or []]
    if value.get("bytes_value") is not None:
        return value["bytes_value"]
    return None


# -- running a Phoenix server -----------------------------------------------------------
def free_port() -> int:
    """A TCP port free on every interface (Phoenix's gRPC server binds them all)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])


def has_phoenix(python: Path) -> bool:
    """Whether ``python`` can run the Phoenix server (without importing it: that is slow)."""
    if not python.is_file():
        return False
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('phoenix') is None)"
    try:
        return subprocess.run([str(python), "-c", probe], timeout=60, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


class PhoenixServer:
    """A Phoenix server process on free loopback ports, with its data in ``workdir``.

    ``start()`` waits for ``GET /healthz``; the first start on a fresh data directory
    also runs Phoenix's database migrations.
    """

    def __init__(self, python: Path, workdir: Path) -> None:
        self.python = python
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.phoenix: Phoenix | None = None
        self.startup_seconds: float | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "phoenix.log"

    def start(self, timeout: float = 180.0, attempts: int = 3) -> Phoenix:
        """Start Phoenix; retries on fresh ports if a port was taken in the meantime."""
        for attempt in range(1, attempts + 1):
            began = time.monotonic()
            self._spawn(free_port(), free_port())
            assert self.phoenix is not None and self.process is not None
            while time.monotonic() - began < timeout:
                if self.phoenix.healthy(timeout=1.0):
                    self.startup_seconds = time.monotonic() - began
                    return self.phoenix
                if self.process.poll() is not None:
                    break
                time.sleep(0.25)
            self.stop()
            if attempt == attempts or time.monotonic() - began >= timeout:
                break
        raise RuntimeError(
            f"Phoenix did not become healthy within {timeout:.0f} s "
            f"({self.python} -m phoenix.server.main serve). Last log lines:\n{self.log_tail()}"
        )

    def _spawn(self, http_port: int, grpc_port: int) -> None:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(http_port),
            "PHOENIX_GRPC_PORT": str(grpc_port),
            "PHOENIX_WORKING_DIR": str(data),
            "PHOENIX_TELEMETRY_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",  # so the log tail shown on a failed start is complete
        }
        for inherited in (
            "PHOENIX_SQL_DATABASE_URL",
            "PHOENIX_ENABLE_AUTH",
            "PHOENIX_PROJECT_NAME",
        ):
            env.pop(inherited, None)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.python), "-m", "phoenix.server.main", "serve"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
                start_new_session=True,
            )
        self.phoenix = Phoenix(f"http://127.0.0.1:{http_port}", f"http://127.0.0.1:{grpc_port}")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server: SIGTERM, then SIGKILL if it has not exited within ``timeout``."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
