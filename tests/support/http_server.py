"""The HTTP plumbing the local wire-format servers share.

``LocalHTTPServer`` runs a threaded server on a free 127.0.0.1 port and hands every request
to one function; the ``send_*`` / chunked helpers write JSON bodies and event streams the way
the providers do (``content-length`` bodies, ``transfer-encoding: chunked`` streams, one
event per chunk, a connection dropped mid-stream on request). ``ScriptedServer`` adds the
usual test shape: answers from a script in turn (the last one repeats), every request
recorded. The provider modules keep only what is specific to their API.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RequestHandler = Callable[[BaseHTTPRequestHandler], None]


class QuietHTTPServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` that does not print a client's dropped connection.

    Tests close connections on purpose (a stream abandoned half-way, a kept-alive
    connection closed); any other error in a handler is still printed.
    """

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LocalHTTPServer:
    """A ``QuietHTTPServer`` on 127.0.0.1 (free port) served from a daemon thread."""

    def __init__(
        self,
        handle: RequestHandler,
        *,
        methods: tuple[str, ...] = ("POST",),
        server_class: type[ThreadingHTTPServer] = QuietHTTPServer,
        start: bool = True,
    ) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

        for method in methods:
            setattr(Handler, f"do_{method}", lambda request: handle(request))
        self.httpd = server_class(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port: int = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        if start:
            self.thread.start()

    def start(self) -> None:
        self.thread.start()

    def close(self, *, join: bool = False) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if join:
            self.thread.join()


# -- reading ---------------------------------------------------------------------------------


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    length = int(handler.headers.get("content-length") or 0)
    return handler.rfile.read(length) if length else b""


def read_json(handler: BaseHTTPRequestHandler) -> Any:
    """The request's JSON body (None when it has none)."""
    return json.loads(read_body(handler) or b"null")


# -- writing ---------------------------------------------------------------------------------


def send_bytes(
    handler: BaseHTTPRequestHandler,
    status: int,
    payload: bytes,
    headers: Mapping[str, str] | None = None,
) -> None:
    """A whole body with its ``content-length`` (``headers`` give the content type)."""
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("content-length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


def send_json(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    *,
    content_type: str = "application/json",
) -> None:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    send_bytes(handler, status, payload, {"content-type": content_type, **(headers or {})})


def start_chunked(
    handler: BaseHTTPRequestHandler,
    status: int = 200,
    content_type: str = "text/event-stream",
    headers: Mapping[str, str] | None = None,
) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("content-type", content_type)
    handler.send_header("transfer-encoding", "chunked")
    handler.end_headers()


def write_chunk(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    handler.wfile.flush()


def end_chunked(handler: BaseHTTPRequestHandler) -> None:
    handler.wfile.write(b"0\r\n\r\n")


def drop_connection(handler: BaseHTTPRequestHandler) -> None:
    """The connection goes away mid-response, as a failing upstream's would."""
    handler.wfile.flush()
    handler.connection.shutdown(socket.SHUT_RDWR)
    handler.close_connection = True


def write_events(
    handler: BaseHTTPRequestHandler, events: Iterable[bytes], truncate_after: int | None = None
) -> bool:
    """One chunk per event, then the end; ``truncate_after``: drop the connection instead of
    writing event number ``truncate_after``. Returns whether the stream was completed."""
    for i, data in enumerate(events):
        if truncate_after is not None and i == truncate_after:
            drop_connection(handler)
            return False
        write_chunk(handler, data)
    end_chunked(handler)
    return True


def split_sse(payload: bytes) -> list[bytes]:
    """An SSE payload as its events, each with its blank-line terminator."""
    return [event + b"\n\n" for event in payload.split(b"\n\n")[:-1]]


# -- a scripted server -----------------------------------------------------------------------


class ScriptedServer:
    """Answers every POST from ``script`` in turn (the last entry repeats); records requests.

    A script entry is a dict: ``body`` and ``status`` for a JSON answer, or ``events`` (an SSE
    payload) with ``truncate_after``; ``delay`` seconds first. Subclasses set ``path`` (added to
    ``base_url``) and ``json_headers``, and override ``record`` / ``answer`` for their API.
    """

    path = ""
    json_headers: Mapping[str, str] = {}

    def __init__(self) -> None:
        self.script: list[dict[str, Any]] = []
        self.requests: list[Any] = []
        self.http = LocalHTTPServer(self._serve)
        self.httpd = self.http.httpd
        self.thread = self.http.thread
        self.port = self.http.port
        self.base_url = self.http.url + self.path

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        self.record(handler, read_body(handler))
        spec = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.answer(handler, spec)

    def record(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        self.requests.append((handler.path, json.loads(raw or b"null")))

    def answer(self, handler: BaseHTTPRequestHandler, spec: dict[str, Any]) -> None:
        if spec.get("delay"):
            time.sleep(spec["delay"])
        if spec["events"] is None:
            send_json(handler, spec["status"], spec["body"], self.json_headers)
            return
        start_chunked(handler, spec["status"])
        write_events(handler, split_sse(spec["events"]), spec["truncate_after"])

    def close(self) -> None:
        self.http.close()
