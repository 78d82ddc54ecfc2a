"""A local bedrock-runtime server for the tests: JSON answers and binary AWS event streams.

The real ``boto3`` client talks to it over HTTP on 127.0.0.1 (``endpoint_url=``) with
dummy credentials, so botocore's own serialisers, parsers and event-stream decoder run.
``event_message`` encodes one message of the ``application/vnd.amazon.eventstream``
format (prelude, headers, payload, both CRC32s), as the service sends it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from botocore.config import Config

EVENTSTREAM = "application/vnd.amazon.eventstream"


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    # name length, name, type 7 (string), value length, value
    return (
        struct.pack("!B", len(raw_name))
        + raw_name
        + struct.pack("!BH", 7, len(raw_value))
        + raw_value
    )


def event_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message: total and header lengths, prelude CRC, headers, payload, CRC."""
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    total = 4 + 4 + 4 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    prelude += struct.pack("!I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + encoded + payload
    return message + struct.pack("!I", binascii.crc32(message) & 0xFFFFFFFF)


def event(event_type: str, body: Any) -> bytes:
    """A modelled event (``messageStart``, ``chunk``, ...) with a JSON payload."""
    return event_message(
        {
            ":event-type": event_type,
            ":content-type": "application/json",
            ":message-type": "event",
        },
        json.dumps(body).encode(),
    )


def exception_event(exception_type: str, message: str) -> bytes:
    """An in-stream error (``throttlingException``, ``modelStreamErrorException``, ...)."""
    return event_message(
        {
            ":exception-type": exception_type,
            ":content-type": "application/json",
            ":message-type": "exception",
        },
        json.dumps({"message": message}).encode(),
    )


def converse_events(*events: dict[str, Any]) -> list[bytes]:
    """ConverseStream events given as ``{"messageStart": {...}}`` dicts, in order."""
    return [event(*next(iter(e.items()))) for e in events]


def chunk_events(*chunks: dict[str, Any]) -> list[bytes]:
    """InvokeModelWithResponseStream ``chunk`` events carrying the model's JSON chunks."""
    return [
        event("chunk", {"bytes": base64.b64encode(json.dumps(c).encode()).decode()}) for c in chunks
    ]


class BedrockServer:
    """Answers bedrock-runtime requests from a script of responses, in turn (the last repeats)."""

    def __init__(self) -> None:
        self.script: list[dict[str, Any]] = []
        self.requests: list[tuple[str, bytes, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                server.requests.append((self.path, body, dict(self.headers)))
                spec = server.script.pop(0) if len(server.script) > 1 else server.script[0]
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    server.answer(self, spec)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def json(
        self,
        body: Any,
        status: int = 200,
        headers: dict[str, str] | None = None,
        cut: bool = False,
    ) -> None:
        """A JSON answer; ``cut``: the connection drops halfway through the body."""
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.script.append(
            {
                "status": status,
                "payload": payload,
                "headers": headers or {},
                "events": None,
                "cut": cut,
            }
        )

    def error(self, code: str, status: int, message: str = "no") -> None:
        self.json({"message": message}, status, {"x-amzn-ErrorType": f"{code}:http://internal/"})

    def stream(self, events: list[bytes], truncate_after: int | None = None) -> None:
        self.script.append(
            {"status": 200, "payload": b"", "headers": {}, "events": events, "cut": truncate_after}
        )

    @staticmethod
    def answer(handler: BaseHTTPRequestHandler, spec: dict[str, Any]) -> None:
        handler.send_response(spec["status"])
        handler.send_header("x-amzn-RequestId", "req-1234")
        for name, value in spec["headers"].items():
            handler.send_header(name, value)
        if spec["events"] is None:
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(spec["payload"])))
            handler.end_headers()
            if spec["cut"]:
                handler.wfile.write(spec["payload"][: len(spec["payload"]) // 2])
                handler.wfile.flush()
                handler.connection.shutdown(socket.SHUT_RDWR)
                handler.close_connection = True
                return
            handler.wfile.write(spec["payload"])
            return
        handler.send_header("content-type", EVENTSTREAM)
        handler.send_header("transfer-encoding", "chunked")
        handler.end_headers()
        for i, data in enumerate(spec["events"]):
            if spec["cut"] is not None and i == spec["cut"]:
                half = data[: len(data) // 2]  # half a message, then the connection drops
                handler.wfile.write(f"{len(half):x}\r\n".encode() + half + b"\r\n")
                handler.wfile.flush()
                handler.connection.shutdown(socket.SHUT_RDWR)
                handler.close_connection = True
                return
            handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            handler.wfile.flush()
        handler.wfile.write(b"0\r\n\r\n")

    def client(self) -> Any:
        """A real bedrock-runtime client for this server: dummy credentials, no retries."""
        return boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=self.url,
            aws_access_key_id="AKIDTEST",
            aws_secret_access_key="secret",
            config=Config(retries={"total_max_attempts": 1}),
        )

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
