"""A small server on 127.0.0.1 that speaks the Gemini API's wire format, and clients for it.

The real ``google.genai`` client is pointed at it with
``HttpOptions(base_url=...)``: JSON bodies for ``:generateContent`` /
``:batchEmbedContents`` / ``:predict``, and for ``:streamGenerateContent?alt=sse``
an SSE stream (``data: {...}`` events, ``\\r\\n\\r\\n`` apart, as the API sends them).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from google import genai
from google.genai import types

from tests.support.http_server import (
    ScriptedServer,
    drop_connection,
    end_chunked,
    send_json,
    start_chunked,
    write_chunk,
)

MODEL = "gemini-2.5-flash"
MODEL_VERSION = "gemini-2.5-flash"


class GeminiServer(ScriptedServer):
    """Answers from a script (the last entry repeats); records every request."""

    def __init__(self) -> None:
        super().__init__()
        self.clients: list[genai.Client] = []
        self.release = threading.Event()  # a stream held with ``hold_after`` goes on when set

    def add(
        self,
        body: Any = None,
        *,
        status: int = 200,
        events: list[Any] | None = None,
        truncate_after: int | None = None,
        hold_after: int | None = None,
    ) -> None:
        """A JSON answer, or an SSE stream of ``events`` (cut after ``truncate_after``;
        held after ``hold_after`` events until ``release`` is set)."""
        self.script.append(
            {
                "body": body,
                "status": status,
                "events": events,
                "truncate_after": truncate_after,
                "hold_after": hold_after,
            }
        )

    def answer(self, handler: BaseHTTPRequestHandler, spec: dict[str, Any]) -> None:
        if spec["events"] is None:
            content_type = "application/json; charset=UTF-8"
            send_json(handler, spec["status"], spec["body"], content_type=content_type)
            return
        start_chunked(handler, spec["status"])
        for i, event in enumerate(spec["events"]):
            if spec["hold_after"] is not None and i == spec["hold_after"]:
                self.release.wait()
            if spec["truncate_after"] is not None and i == spec["truncate_after"]:
                drop_connection(handler)
                return
            data = event if isinstance(event, bytes) else f"data: {json.dumps(event)}\r\n\r\n"
            write_chunk(handler, data.encode() if isinstance(data, str) else data)
        end_chunked(handler)

    def close(self) -> None:
        self.release.set()
        for client in self.clients:
            client.close()
        self.clients.clear()
        super().close()


def make_client(
    server: GeminiServer, *, vertexai: bool = False, async_client: Any = None
) -> genai.Client:
    """A real client talking to ``server`` with retries off.

    ``async_client``: an ``httpx2.AsyncClient`` for ``client.aio`` (else the SDK picks
    aiohttp when it is installed, httpx2 otherwise).
    """
    options = types.HttpOptions(
        base_url=server.base_url,
        retry_options=types.HttpRetryOptions(attempts=1),
        httpx_async_client=async_client,
    )
    client = genai.Client(vertexai=vertexai, api_key="test-key", http_options=options)
    # ``make_client(server).models...``: the client closes its HTTP client when collected.
    server.clients.append(client)
    return client


# -- wire bodies, as the API sends them (camelCase) -------------------------------------------


def usage(prompt: int = 8, candidates: int = 5, **extra: int) -> dict[str, Any]:
    body = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + sum(extra.values()),
    }
    body.update(extra)
    return body


def response(
    parts: list[dict[str, Any]] | None = None,
    *,
    finish: str | None = "STOP",
    usage_metadata: dict[str, Any] | None = None,
    response_id: str = "resp-1",
    model_version: str = MODEL_VERSION,
) -> dict[str, Any]:
    candidate: dict[str, Any] = {
        "content": {"role": "model", "parts": parts if parts is not None else [{"text": "Hi!"}]},
        "index": 0,
    }
    if finish is not None:
        candidate["finishReason"] = finish
    body: dict[str, Any] = {
        "candidates": [candidate],
        "modelVersion": model_version,
        "responseId": response_id,
    }
    if usage_metadata is not None:
        body["usageMetadata"] = usage_metadata
    return body


def stream_events(
    words: tuple[str, ...] = ("Hello", " there", "!"),
    *,
    prompt: int = 8,
    response_id: str = "resp-s1",
) -> list[dict[str, Any]]:
    """Chunks as streamGenerateContent sends them: usage on every chunk, totals on the last."""
    events = []
    for i, word in enumerate(words):
        last = i == len(words) - 1
        events.append(
            response(
                [{"text": word}],
                finish="STOP" if last else None,
                usage_metadata=usage(prompt, i + 1) if last else {"promptTokenCount": prompt},
                response_id=response_id,
            )
        )
    return events
