"""A local bedrock-runtime server for the tests: JSON answers and binary AWS event streams.

The real ``boto3`` client talks to it over HTTP on 127.0.0.1 (``endpoint_url=``) with
dummy credentials, so botocore's own serialisers, parsers and event-stream decoder run.
``event_message`` encodes one message of the ``application/vnd.amazon.eventstream``
format (prelude, headers, payload, both CRC32s), as the service sends it.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from http.server import BaseHTTPRequestHandler
from typing import Any

import boto3
from botocore.config import Config

from tests.support.http_server import (
    ScriptedServer,
    drop_connection,
    end_chunked,
    send_json,
    start_chunked,
    write_chunk,
)

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


class BedrockServer(ScriptedServer):
    """Answers bedrock-runtime requests from a script of responses, in turn (the last repeats)."""

    def __init__(self) -> None:
        super().__init__()
        self.url = self.base_url

    def record(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        self.requests.append((handler.path, raw, dict(handler.headers)))

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

    def answer(self, handler: BaseHTTPRequestHandler, spec: dict[str, Any]) -> None:
        headers = {"x-amzn-RequestId": "req-1234", **spec["headers"]}
        if spec["events"] is None:
            payload = spec["payload"]
            if not spec["cut"]:
                send_json(handler, spec["status"], payload, headers)
                return
            handler.send_response(spec["status"])
            for name, value in {**headers, "content-type": "application/json"}.items():
                handler.send_header(name, value)
            handler.send_header("content-length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload[: len(payload) // 2])
            drop_connection(handler)
            return
        start_chunked(handler, spec["status"], EVENTSTREAM, headers)
        for i, data in enumerate(spec["events"]):
            if spec["cut"] is not None and i == spec["cut"]:
                write_chunk(handler, data[: len(data) // 2])  # half a message, then it drops
                drop_connection(handler)
                return
            write_chunk(handler, data)
        end_chunked(handler)

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
