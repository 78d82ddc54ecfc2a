"""Fake OTLP collectors on 127.0.0.1 and helpers shared by the reliability tests.

    with OTLPHttpCollector() as collector:           # answers 200 and decodes every span
        llmtrace.init(endpoint=collector.endpoint, instrument=False)
        ...
        assert collector.wait_for_spans(10)

``OTLPHttpCollector`` can answer slowly (``delay_s``), answer error statuses
(``statuses``), stop and start again on the same port. ``BlackHole`` accepts
TCP connections and never answers. ``GrpcCollector`` is the gRPC counterpart.
``refused_endpoint()`` is a port nobody listens on.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

import llmtrace
from llmtrace import _setup
from llmtrace._export_processor import ExportProcessor

SOAK_SCALE = float(os.environ.get("LLMTRACE_SOAK_SCALE", "1") or "1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refused_endpoint() -> str:
    """An endpoint whose port has no listener: every connection is refused."""
    return f"http://127.0.0.1:{free_port()}"


class _Received:
    """What a fake collector decoded: span names, raw requests, headers, peers."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.span_names: list[str] = []
        self.requests: list[ExportTraceServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        self.peers: list[tuple[str, int]] = []
        self.attempts = 0

    def record(
        self, request: ExportTraceServiceRequest, headers: dict[str, str], peer: Any
    ) -> None:
        with self.lock:
            self.requests.append(request)
            self.headers.append(headers)
            self.peers.append(peer)
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    self.span_names.extend(s.name for s in scope_spans.spans)
            self.lock.notify_all()

    @property
    def span_count(self) -> int:
        with self.lock:
            return len(self.span_names)

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: len(self.span_names) >= count, timeout)

    def dump_spans(self) -> str:
        """Every exported span, event and resource, as text (to scan for secrets).

        Protobuf's text format escapes non-ASCII; strings are decoded back so that a
        search finds them as written.
        """
        with self.lock:
            text = "\n".join(str(r) for r in self.requests)
        return text.encode("latin-1", "backslashreplace").decode("unicode_escape", "replace")

    def spans(self) -> list[Any]:
        with self.lock:
            return [
                span
                for request in self.requests
                for resource_spans in request.resource_spans
                for scope_spans in resource_spans.scope_spans
                for span in scope_spans.spans
            ]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    collector: OTLPHttpCollector

    def __init__(self, address: tuple[str, int], collector: OTLPHttpCollector) -> None:
        self.collector = collector
        self.connections: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.add(request)
        super().process_request(request, client_address)

    def close_all(self) -> None:
        self.shutdown()
        self.server_close()
        for conn in list(self.connections):
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        collector = self.server.collector
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with collector.received.lock:
            collector.received.attempts += 1
        if collector.delay_s:
            time.sleep(collector.delay_s)
        status = collector.next_status()
        if status == 200 and self.path.endswith("/v1/traces"):
            request = ExportTraceServiceRequest.FromString(body)
            collector.received.record(request, dict(self.headers.items()), self.client_address)
        payload = ExportTraceServiceResponse().SerializeToString()
        self.send_response(status)
        if status in (429, 503):
            self.send_header("Retry-After", "0.2")
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class OTLPHttpCollector:
    """An OTLP/HTTP receiver on 127.0.0.1 that decodes and counts the spans it gets."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received = _Received()
        self.delay_s = 0.0
        self.statuses: list[int] = []  # answered (in order) before falling back to 200
        self.always: int | None = None  # answer this status to every request
        self._server: _Server | None = None
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def next_status(self) -> int:
        with self._lock:
            if self.always is not None:
                return self.always
            return self.statuses.pop(0) if self.statuses else 200

    def start(self) -> OTLPHttpCollector:
        server = _Server(("127.0.0.1", self.port), self)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection (the port then refuses)."""
        server, self._server = self._server, None
        if server is not None:
            server.close_all()

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> bool:
        return self.received.wait_for_spans(count, timeout)

    @property
    def span_count(self) -> int:
        return self.received.span_count

    def __enter__(self) -> OTLPHttpCollector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class BlackHole:
    """Accepts TCP connections and never reads or answers: a hung collector."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self.connections: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections.append(conn)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for conn in self.connections:
            conn.close()

    def __enter__(self) -> BlackHole:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class GrpcCollector:
    """An OTLP/gRPC receiver on 127.0.0.1; ``start()`` again after ``stop()`` to restart."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received = _Received()
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GrpcCollector:
        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

        received = self.received

        class Servicer(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
            def Export(self, request: Any, context: Any) -> Any:
                metadata = {k: str(v) for k, v in context.invocation_metadata()}
                received.record(request, metadata, context.peer())
                return ExportTraceServiceResponse()

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Servicer(), server)
        server.add_insecure_port(f"127.0.0.1:{self.port}")
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace=None).wait(5)

    def wait_for_spans(self, count: int, timeout: float = 10.0) -> bool:
        return self.received.wait_for_spans(count, timeout)

    @property
    def span_count(self) -> int:
        return self.received.span_count

    def __enter__(self) -> GrpcCollector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- llmtrace set-up -----------------------------------------------------------------------


def reset_otel_globals() -> None:
    """Let the next init() install a fresh global provider (as OpenTelemetry's tests do)."""
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import trace as otel_trace
    from opentelemetry.util._once import Once

    otel_trace._TRACER_PROVIDER = None
    otel_trace._TRACER_PROVIDER_SET_ONCE = Once()
    otel_metrics._internal._METER_PROVIDER = None
    otel_metrics._internal._METER_PROVIDER_SET_ONCE = Once()


def init_export(endpoint: str, **settings: Any) -> llmtrace.Tracing:
    """init() exporting over OTLP to ``endpoint``, with test-friendly defaults."""
    settings.setdefault("instrument", False)
    settings.setdefault("service_name", "reliability")
    settings.setdefault("export_timeout", 2.0)
    settings.setdefault("shutdown_timeout", 2.0)
    return llmtrace.init(endpoint=endpoint, **settings)


def stop_tracing(timeout: float | None = None) -> None:
    handle = _setup.active()
    if handle is not None:
        handle.shutdown(timeout=timeout)
    reset_otel_globals()


def export_processor(handle: llmtrace.Tracing) -> ExportProcessor:
    found = [p for p in handle._processors if isinstance(p, ExportProcessor)]
    assert len(found) == 1, handle._processors
    return found[0]


@contextmanager
def tracing_to(endpoint: str, **settings: Any) -> Iterator[llmtrace.Tracing]:
    handle = init_export(endpoint, **settings)
    try:
        yield handle
    finally:
        stop_tracing()


def seconds_per_call(func: Callable[[], Any], calls: int = 50, rounds: int = 20) -> float:
    """Best-of-``rounds`` mean time of one call.

    Short rounds and the minimum filter out what is not the call's own cost: the
    scheduler, garbage collection, and the export thread or the in-process fake
    collector holding the GIL while they encode or decode a batch.
    """
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            func()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


class Figures:
    """Numbers measured by the tests, for docs/reliability.md.

    Written to the JSON file named by ``LLMTRACE_RELIABILITY_FIGURES`` at the end of the
    session; nothing is written otherwise.
    """

    values: dict[str, Any] = {}

    @classmethod
    def record(cls, name: str, value: Any) -> None:
        cls.values[name] = value

    @classmethod
    def add(cls, name: str, amount: int) -> None:
        cls.values[name] = cls.values.get(name, 0) + amount

    @classmethod
    def write(cls) -> None:
        path = os.environ.get("LLMTRACE_RELIABILITY_FIGURES")
        if path and cls.values:
            with open(path, "w", encoding="utf-8") as out:
                json.dump(cls.values, out, indent=2, sort_keys=True)


# -- OpenAI over a mock transport ----------------------------------------------------------

CHAT_MODEL = "gpt-4o-mini"
ANSWERED_BY = "gpt-4o-mini-2024-07-18"
ANSWER = "Paris is the capital of France."


def chat_body(content: str = ANSWER) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": ANSWERED_BY,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
        "system_fingerprint": "fp_1",
    }


def chat_chunks(content: str = ANSWER) -> list[dict[str, Any]]:
    base = {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": ANSWERED_BY,
    }
    words = content.split(" ")
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    for i, word in enumerate(words):
        piece = word if i == 0 else " " + word
        chunks.append({**base, "choices": [{"index": 0, "delta": {"content": piece}}]})
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append(
        {
            **base,
            "choices": [],
            "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
        }
    )
    return chunks


def sse(chunks: list[Any]) -> bytes:
    return ("".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n").encode()


class OpenAIHandler:
    """Mock-transport handler: chat JSON, or SSE when the request asks to stream.

    ``body`` / ``chunks`` override what is answered; requests are kept in ``requests``
    unless ``keep=False`` (memory tests).
    """

    def __init__(
        self,
        body: Any = None,
        chunks: list[Any] | None = None,
        status: int = 200,
        keep: bool = True,
    ) -> None:
        self.body = body
        self.chunks = chunks
        self.status = status
        self.keep = keep
        self.requests: list[Any] = []
        self._lock = threading.Lock()

    def __call__(self, request: Any) -> Any:
        import httpx2

        if self.keep:
            with self._lock:
                self.requests.append(request)
        payload = json.loads(request.content or b"null") or {}
        if payload.get("stream"):
            chunks = self.chunks if self.chunks is not None else chat_chunks()
            if not (payload.get("stream_options") or {}).get("include_usage"):
                # As the API does: the usage-only chunk comes only when asked for.
                chunks = [c for c in chunks if not _usage_only(c)]
            return httpx2.Response(
                self.status, content=sse(chunks), headers={"content-type": "text/event-stream"}
            )
        return httpx2.Response(
            self.status, json=self.body if self.body is not None else chat_body()
        )


def _usage_only(chunk: Any) -> bool:
    return isinstance(chunk, dict) and chunk.get("usage") is not None and not chunk.get("choices")


def openai_client(
    handler: Callable[[Any], Any] | None = None, *, asynchronous: bool = False, **kwargs: Any
) -> Any:
    """A real openai client (3.x, httpx2) whose HTTP goes to ``handler``."""
    import httpx2
    import openai

    transport = httpx2.MockTransport(handler or OpenAIHandler())
    http_client = (
        httpx2.AsyncClient(transport=transport)
        if asynchronous
        else httpx2.Client(transport=transport)
    )
    kwargs.setdefault("api_key", "sk-test")
    kwargs.setdefault("max_retries", 0)
    cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    return cls(http_client=http_client, **kwargs)


def ask(client: Any, question: str = "Capital of France?", **kwargs: Any) -> Any:
    return client.chat.completions.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": question}], **kwargs
    )


def llm_spans(spans: list[Any]) -> list[Any]:
    return [
        s
        for s in spans
        if (s.attributes or {}).get("gen_ai.operation.name") == "chat" and s.kind.name == "CLIENT"
    ]
