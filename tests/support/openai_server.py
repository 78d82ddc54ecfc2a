"""Helpers for the OpenAI instrumentation tests: real clients over mock transports or a
local OpenAI-compatible HTTP server on 127.0.0.1, with llmtrace's patch applied.

Runs against every supported openai major: 1.x/2.x use ``httpx``, 3.x ``httpx2``
(``hx`` below is whichever the installed SDK uses).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai

from tests.support.http_server import ScriptedServer

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


class LocalServer(ScriptedServer):
    """A small OpenAI-compatible HTTP server on 127.0.0.1 answering from a script."""

    path = "/v1"

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
