"""Replay recorded OpenAI API traffic (VCR cassettes) to the real ``openai`` client.

The cassettes live beside the project, in ``../shared/recorded-openai/`` (see its
``SOURCES.md``): real requests and responses recorded by the OpenTelemetry and
OpenInference OpenAI instrumentations' test suites. They are read from there, never
copied into the repository.

    case = load_cases()[0]                 # one recorded request/response
    with ReplayServer(case) as server:     # 127.0.0.1, answers with the recorded bytes
        client = openai.OpenAI(api_key="sk-test", base_url=server.base_url)
        ...call the endpoint with the recorded body...
    server.received                        # the JSON body that went over the wire

``expected_*`` functions derive, from the recording alone and the GenAI conventions
(not from llmtrace's code), what the span must say.
"""

from __future__ import annotations

import base64
import contextlib
import json
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support import SHARED as SHARED_ROOT
from tests.support.http_server import LocalHTTPServer, read_json, send_bytes

SHARED = SHARED_ROOT / "recorded-openai"
CASSETTES = SHARED / "cassettes"
SCHEMAS = SHARED / "schemas"


@dataclass(frozen=True)
class Case:
    """One recorded interaction: the request body sent and the response received."""

    source: str  # "otel" / "openinference"
    name: str  # cassette file name without .yaml
    index: int  # interaction number within the cassette
    path: str  # endpoint path: /chat/completions, /responses, /embeddings
    request: dict[str, Any]
    status: int
    content_type: str
    body: str  # the response body as recorded

    @property
    def id(self) -> str:
        return f"{self.source}/{self.name}#{self.index}"

    @property
    def streamed(self) -> bool:
        return self.content_type.startswith("text/event-stream")

    @property
    def asynchronous(self) -> bool:
        return "async" in self.name

    def events(self) -> list[dict[str, Any]]:
        """The JSON payloads of a recorded SSE stream, in order (``[DONE]`` left out)."""
        out = []
        for line in self.body.splitlines():
            if line.startswith("data:"):
                data = line[5:].strip()
                if data and data != "[DONE]":
                    out.append(json.loads(data))
        return out

    def json(self) -> Any:
        return json.loads(self.body)


def _header(headers: dict[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value[0] if isinstance(value, list) else value
    return None


def load_cases() -> list[Case]:
    """Every recorded interaction, sorted by cassette; [] when the folder is absent."""
    if not CASSETTES.is_dir():
        return []
    import yaml

    cases = []
    for file in sorted(CASSETTES.glob("*/*.yaml")):
        data = yaml.safe_load(file.read_text())
        for index, interaction in enumerate(data.get("interactions") or []):
            request, response = interaction["request"], interaction["response"]
            body = response["body"]
            body = body.get("string", "") if isinstance(body, dict) else body
            if isinstance(body, bytes):
                body = body.decode()
            content_type = _header(response.get("headers") or {}, "content-type") or ""
            cases.append(
                Case(
                    source=file.parent.name,
                    name=file.stem,
                    index=index,
                    path="/" + request["uri"].split("/v1/", 1)[1].split("?", 1)[0],
                    request=json.loads(request["body"]),
                    status=int(response["status"]["code"]),
                    content_type=content_type,
                    body=body,
                )
            )
    return cases


def load_schema(attribute: str) -> dict[str, Any]:
    """The conventions' JSON schema of ``gen_ai.input.messages`` and the like."""
    name = "gen-ai-" + attribute.split(".", 1)[1].replace(".", "-").replace("_", "-") + ".json"
    return json.loads((SCHEMAS / name).read_text())  # type: ignore[no-any-return]


class ReplayServer:
    """An HTTP server on 127.0.0.1 that answers every POST with one case's recorded bytes."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.received: list[Any] = []
        self.http = LocalHTTPServer(self._serve, start=False)
        self.httpd = self.http.httpd
        self.thread = self.http.thread
        self.port = self.http.port
        self.base_url = f"{self.http.url}/v1"

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        self.received.append(read_json(handler))
        headers = {
            "content-type": self.case.content_type or "application/json",
            "x-request-id": "req_replay",
        }
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            send_bytes(handler, self.case.status, self.case.body.encode(), headers)

    def __enter__(self) -> ReplayServer:
        self.http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close(join=True)


# --- what the span must say, from the recording and the conventions ----------------------

API_TYPES = {"/chat/completions": "chat_completions", "/responses": "responses"}
OPERATIONS = {"/chat/completions": "chat", "/responses": "chat", "/embeddings": "embeddings"}


def expected_request(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """Request attributes for the body that went over the wire (None: must be absent)."""
    get = body.get
    out: dict[str, Any] = {
        "gen_ai.operation.name": OPERATIONS[path],
        "gen_ai.request.model": get("model"),
        "openai.api.type": API_TYPES.get(path),
        # Conventions: choice.count only when != 1; stream if and only if streaming.
        "gen_ai.request.choice.count": get("n") if get("n") not in (None, 1) else None,
        "gen_ai.request.stream": True if get("stream") is True else None,
    }
    if path == "/embeddings":
        fmt = get("encoding_format")
        out["gen_ai.request.encoding_formats"] = (fmt,) if fmt else None
        return out
    for name in ("temperature", "top_p", "frequency_penalty", "presence_penalty"):
        value = get(name)
        out[f"gen_ai.request.{name}"] = float(value) if value is not None else None
    tier = get("service_tier")
    out["openai.request.service_tier"] = tier if tier not in (None, "auto") else None
    if path == "/responses":
        out["gen_ai.request.max_tokens"] = get("max_output_tokens")
        out["gen_ai.request.previous_response.id"] = get("previous_response_id")
        fmt = ((get("text") or {}).get("format") or {}).get("type")
        reasoning = (get("reasoning") or {}).get("effort")
    else:
        max_tokens = get("max_completion_tokens")
        out["gen_ai.request.max_tokens"] = (
            max_tokens if max_tokens is not None else get("max_tokens")
        )
        out["gen_ai.request.seed"] = get("seed")
        stop = get("stop")
        out["gen_ai.request.stop_sequences"] = (stop,) if isinstance(stop, str) else stop
        fmt = (get("response_format") or {}).get("type")
        reasoning = get("reasoning_effort")
    out["gen_ai.output.type"] = "json" if fmt in ("json_object", "json_schema") else fmt
    out["gen_ai.request.reasoning.level"] = reasoning
    return out


def _chat_usage(usage: dict[str, Any] | None) -> dict[str, Any]:
    if not usage:
        return {}
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return {
        "gen_ai.usage.input_tokens": usage.get("prompt_tokens"),
        "gen_ai.usage.output_tokens": usage.get("completion_tokens"),
        "gen_ai.usage.cache_read.input_tokens": prompt.get("cached_tokens"),
        "gen_ai.usage.reasoning.output_tokens": completion.get("reasoning_tokens"),
        "gen_ai.usage.audio.input_tokens": prompt.get("audio_tokens"),
        "gen_ai.usage.audio.output_tokens": completion.get("audio_tokens"),
    }


def _responses_usage(usage: dict[str, Any] | None) -> dict[str, Any]:
    if not usage:
        return {}
    inp = usage.get("input_tokens_details") or {}
    out = usage.get("output_tokens_details") or {}
    return {
        "gen_ai.usage.input_tokens": usage.get("input_tokens"),
        "gen_ai.usage.output_tokens": usage.get("output_tokens"),
        "gen_ai.usage.cache_read.input_tokens": inp.get("cached_tokens"),
        "gen_ai.usage.reasoning.output_tokens": out.get("reasoning_tokens"),
    }


def responses_finish_reason(response: dict[str, Any]) -> str | None:
    """llmtrace's documented mapping of a Responses status onto chat finish reasons."""
    status = response.get("status")
    if status == "completed":
        calls = [o for o in response.get("output") or [] if o.get("type") == "function_call"]
        return "tool_calls" if calls else "stop"
    if status == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason")
        return {"max_output_tokens": "length"}.get(reason, reason)
    return "error" if status == "failed" else None


def expected_response(case: Case) -> dict[str, Any]:
    """Response attributes of a fully received 2xx answer (None: must be absent)."""
    if case.path == "/embeddings":
        data = case.json()
        vector = data["data"][0]["embedding"]
        dims = len(vector) if isinstance(vector, list) else len(base64.b64decode(vector)) // 4
        usage = data.get("usage") or {}
        return {
            "gen_ai.response.model": data.get("model"),
            "gen_ai.embeddings.dimension.count": dims,
            "gen_ai.usage.input_tokens": usage.get("prompt_tokens"),
        }
    if case.path == "/responses":
        if case.streamed:
            finals = [e for e in case.events() if e.get("type") == "response.completed"]
            response = finals[-1]["response"]
        else:
            response = case.json()
        reason = responses_finish_reason(response)
        return {
            "gen_ai.response.id": response.get("id"),
            "gen_ai.response.model": response.get("model"),
            "gen_ai.response.finish_reasons": (reason,) if reason else None,
            "openai.response.service_tier": response.get("service_tier"),
            **_responses_usage(response.get("usage")),
        }
    if not case.streamed:
        data = case.json()
        choices = data.get("choices") or []
        return {
            "gen_ai.response.id": data.get("id"),
            "gen_ai.response.model": data.get("model"),
            "gen_ai.response.finish_reasons": tuple(c["finish_reason"] for c in choices),
            "openai.response.system_fingerprint": data.get("system_fingerprint"),
            "openai.response.service_tier": data.get("service_tier"),
            **_chat_usage(data.get("usage")),
        }
    chunks = case.events()
    reasons: dict[int, str] = {}
    usage = None
    for chunk in chunks:
        for choice in chunk.get("choices") or []:
            if choice.get("finish_reason"):
                reasons[choice["index"]] = choice["finish_reason"]
        usage = chunk.get("usage") or usage
    return {
        "gen_ai.response.id": chunks[0].get("id"),
        "gen_ai.response.model": chunks[0].get("model"),
        "gen_ai.response.finish_reasons": tuple(reasons[i] for i in sorted(reasons)),
        "openai.response.system_fingerprint": chunks[-1].get("system_fingerprint")
        or next((c.get("system_fingerprint") for c in chunks if c.get("system_fingerprint")), None),
        **_chat_usage(usage),
    }


def billed_input_tokens(case: Case) -> int | None:
    """Input tokens the recording says the request was billed (streams: the final usage)."""
    if case.path == "/responses":
        finals = [e for e in case.events() if e.get("type") == "response.completed"]
        return finals[-1]["response"]["usage"]["input_tokens"] if finals else None
    usages = [c["usage"] for c in case.events() if c.get("usage")]
    return usages[-1]["prompt_tokens"] if usages else None
