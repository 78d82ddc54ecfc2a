"""Replay recorded HTTP traffic (VCR cassettes) to the real clients over 127.0.0.1.

    recordings = load_cassette(RECORDINGS / "openllmetry" / "test_lcel__test_stream.yaml")
    with ReplayServer(recordings) as server:
        ChatOpenAI(base_url=server.openai_base_url, api_key="sk-test", ...).invoke("hi")
    server.requests            # what the client sent, in order

Each cassette interaction's response is served, in recorded order, to the
request with the same method and path (``/v1/chat/completions``,
``/v1/completions``, Tavily's ``/search``), whatever its body says: the
client code under test is the real one (langchain-openai, openai 3.x on
httpx2, which vcrpy and respx do not patch), so the replay has to happen on
the wire. Bodies go out as recorded (gzip stays gzip with its
``content-encoding``); event streams go out one event per HTTP chunk.
``cut_stream_after`` drops the connection after that many events of the
next stream (a stream that breaks mid-way).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.support import SHARED
from tests.support.http_server import (
    LocalHTTPServer,
    drop_connection,
    end_chunked,
    read_body,
    send_bytes,
    start_chunked,
    write_chunk,
)

RECORDINGS = SHARED / "recorded-langchain"


@dataclass
class Recording:
    """One recorded request/response pair."""

    method: str
    path: str
    request: Any  # the recorded request body (parsed JSON, or None)
    status: int
    headers: dict[str, str]  # lower-case names, first value
    body: bytes  # as recorded (possibly gzip-compressed)

    @property
    def is_stream(self) -> bool:
        return self.text().lstrip().startswith("data:")

    def text(self) -> str:
        raw = self.body
        if self.headers.get("content-encoding") == "gzip" or raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return raw.decode()

    def json(self) -> Any:
        return json.loads(self.text())

    def events(self) -> list[Any]:
        """The JSON payloads of a recorded event stream (without ``[DONE]``)."""
        payloads = []
        for event in self.text().split("\n\n"):
            data = event.strip().removeprefix("data:").strip()
            if data and data != "[DONE]":
                payloads.append(json.loads(data))
        return payloads


def load_cassette(path: Path) -> list[Recording]:
    """A VCR cassette's interactions, in recorded order."""
    with path.open("rb") as handle:
        cassette = yaml.safe_load(handle)
    recordings = []
    for interaction in cassette["interactions"]:
        request, response = interaction["request"], interaction["response"]
        body = response["body"]["string"]
        headers = {
            name.lower(): values[0] if isinstance(values, list) else values
            for name, values in (response.get("headers") or {}).items()
        }
        raw_request = request.get("body")
        try:
            request_body = json.loads(raw_request) if raw_request else None
        except (TypeError, ValueError):
            request_body = raw_request
        recordings.append(
            Recording(
                method=request["method"],
                path=urlsplit(request["uri"]).path,
                request=request_body,
                status=int(response["status"]["code"]),
                headers=headers,
                body=body.encode() if isinstance(body, str) else bytes(body),
            )
        )
    return recordings


@dataclass
class Served:
    """One request the server answered (or could not)."""

    method: str
    path: str
    body: Any
    recording: Recording | None
    events_written: int = 0  # event-stream responses: events handed to the socket
    disconnected: bool = False  # the client went away before the end of the response


@dataclass
class ReplayServer:
    """An HTTP server on 127.0.0.1 that answers from recordings (see module docstring)."""

    recordings: list[Recording]
    cut_stream_after: int | None = None
    requests: list[Served] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queues: dict[tuple[str, str], deque[Recording]] = {}
        for recording in self.recordings:
            self._queues.setdefault((recording.method, recording.path), deque()).append(recording)
        self._lock = threading.Lock()
        self._http = LocalHTTPServer(self._answer, methods=("GET", "POST"))
        self.port = self._http.port
        self.base_url = self._http.url
        self.openai_base_url = f"{self.base_url}/v1"

    def __enter__(self) -> ReplayServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def remaining(self, path_suffix: str = "") -> int:
        """Recordings not served yet (for paths ending in ``path_suffix``)."""
        with self._lock:
            return sum(
                len(queue)
                for (_, path), queue in self._queues.items()
                if path.endswith(path_suffix)
            )

    def served(self, path_suffix: str) -> list[Served]:
        return [r for r in self.requests if r.path.endswith(path_suffix)]

    # -- one request -----------------------------------------------------------------------
    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        raw = read_body(handler)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        path = urlsplit(handler.path).path
        with self._lock:
            queue = self._queues.get((handler.command, path))
            recording = queue.popleft() if queue else None
            served = Served(handler.command, path, body, recording)
            self.requests.append(served)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if recording is None:
                self._send_body(handler, 599, {"content-type": "application/json"}, b"{}")
            elif recording.is_stream:
                self._send_events(handler, recording, served)
            else:
                self._send_body(handler, recording.status, recording.headers, recording.body)
            return
        served.disconnected = True

    @staticmethod
    def _send_body(
        handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        kept = {
            name: headers[name] for name in ("content-type", "content-encoding") if name in headers
        }
        send_bytes(handler, status, body, kept)

    def _send_events(
        self, handler: BaseHTTPRequestHandler, recording: Recording, served: Served
    ) -> None:
        content_type = recording.headers.get("content-type", "text/event-stream")
        start_chunked(handler, recording.status, content_type)
        events = [e for e in recording.text().split("\n\n") if e.strip()]
        cut, self.cut_stream_after = self.cut_stream_after, None
        for event in events:
            if cut is not None and served.events_written == cut:
                drop_connection(handler)
                served.disconnected = True
                return
            write_chunk(handler, event.encode() + b"\n\n")
            served.events_written += 1
        end_chunked(handler)
