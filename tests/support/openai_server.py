"""Helpers for the OpenAI instrumentation tests: real clients over mock transports or a
local OpenAI-compatible HTTP server on 127.0.0.1, with llmtrace's patch applied.

Runs against every supported openai major: 1.x/2.x use ``httpx``, 3.x ``httpx2``
(``hx`` below is whichever the installed SDK uses).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import openai

OPENAI_MAJOR = int(openai.__version__.split(".")[0])
if OPENAI_MAJOR >= 3:
    import httpx2 as hx
else:
    import httpx as hx  # type: ignore[no-redef]

Handler = Callable[[Any], Any]


def json_response(body: Any, status: int = 200) -> Handler:
    return lambda request: hx.Response(status, json=body, headers={"x-request-id": "req_1"})


def sse_response(payload: bytes) -> Handler:
    return lambda request: hx.Response(
        200, content=payload, headers={"content-type": "text/event-stream"}
    )


class Recorder:
    """A mock transport handler: answers with the given handlers in turn (the last repeats)."""

    def __init__(self, *handlers: Handler) -> None:
        self.handlers = list(handlers)
        self.bodies: list[Any] = []
        self.requests: list[Any] = []

    def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        self.bodies.append(json.loads(request.content) if request.content else None)
        handler = self.handlers.pop(0) if len(self.handlers) > 1 else self.handlers[0]
        return handler(request)


def make_client(
    *handlers: Handler,
    asynchronous: bool = False,
    azure: bool = False,
    base_url: str | None = None,
    **kwargs: Any,
) -> tuple[Any, Recorder]:
    """A real OpenAI client whose HTTP client is backed by a mock transport."""
    recorder = Recorder(*handlers)
    transport = hx.MockTransport(recorder)
    http_client = (
        hx.AsyncClient(transport=transport) if asynchronous else hx.Client(transport=transport)
    )
    common: dict[str, Any] = {"api_key": "sk-test", "http_client": http_client, "max_retries": 0}
    common.update(kwargs)
    if azure:
        cls = openai.AsyncAzureOpenAI if asynchronous else openai.AzureOpenAI
        client = cls(
            api_version="2024-10-21", azure_endpoint="https://contoso.openai.azure.com", **common
        )
    else:
        cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
        client = cls(base_url=base_url, **common)
    return client, recorder


class LocalServer:
    """A small OpenAI-compatible HTTP server on 127.0.0.1 answering from a script."""

    def __init__(self) -> None:
        self.script: list[dict[str, Any]] = []
        self.requests: list[tuple[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                server.requests.append((self.path, body))
                spec = server.script.pop(0) if len(server.script) > 1 else server.script[0]
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    server.answer(self, spec)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def add(
        self,
        body: Any = None,
        *,
        status: int = 200,
        events: bytes | None = None,
        delay: float = 0.0,
        truncate_after: int | None = None,
    ) -> None:
        self.script.append(
            {
                "body": body,
                "status": status,
                "events": events,
                "delay": delay,
                "truncate_after": truncate_after,
            }
        )

    @staticmethod
    def answer(handler: BaseHTTPRequestHandler, spec: dict[str, Any]) -> None:
        if spec["delay"]:
            time.sleep(spec["delay"])
        if spec["events"] is None:
            payload = json.dumps(spec["body"]).encode()
            handler.send_response(spec["status"])
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
            return
        handler.send_response(spec["status"])
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()
        events = spec["events"].split(b"\n\n")[:-1]
        for i, event in enumerate(events):
            if spec["truncate_after"] is not None and i == spec["truncate_after"]:
                handler.wfile.flush()
                handler.connection.shutdown(socket.SHUT_RDWR)
                handler.close_connection = True
                return
            data = event + b"\n\n"
            handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            handler.wfile.flush()
        handler.wfile.write(b"0\r\n\r\n")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
