"""Every recorded OpenAI request replayed through the real ``openai`` client and llmtrace.

Each case sends the recorded request body to a server on 127.0.0.1 that answers with the
recorded response bytes, then checks llmtrace's span against the recording and the GenAI
conventions (attribute values, what must be absent, the message JSON schemas). Deliberate
differences, named in ``docs/openai.md``: the provider is ``openai_compatible`` (the
server is not api.openai.com), streams without a usage chunk or cut short carry estimated
usage, inline images are elided.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Sampler
from opentelemetry.trace import SpanKind, StatusCode

from llmtrace.testing import capture_metrics
from tests.support.openai_replay import (
    SHARED,
    Case,
    ReplayServer,
    billed_input_tokens,
    expected_request,
    expected_response,
    load_cases,
    load_schema,
)

CASES = load_cases()
pytestmark = pytest.mark.skipif(
    not CASES, reason=f"recorded OpenAI traffic not found in {SHARED} (shared test data)"
)
CONTENT_KEYS = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
)


class StartAttributes(Sampler):
    """Samples everything, keeping the attributes each span had when it was started."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def should_sample(
        self, parent_context: Any, trace_id: int, name: str, *args: Any, **kwargs: Any
    ) -> Any:
        attributes = kwargs.get("attributes", args[1] if len(args) > 1 else None)
        self.seen.append(dict(attributes or {}))
        return ALWAYS_ON.should_sample(parent_context, trace_id, name, *args, **kwargs)

    def get_description(self) -> str:
        return "StartAttributes"


class UserError(Exception):
    """Raised by the test's own loop, as a user's code would while reading a stream."""


# --- driving the client --------------------------------------------------------------------


def _method(client: Any, path: str) -> Any:
    if path == "/chat/completions":
        return client.chat.completions
    if path == "/responses":
        return client.responses
    return client.embeddings


def _arguments(resource: Any, body: dict[str, Any], via_extra: tuple[str, ...]) -> dict[str, Any]:
    """The recorded body as keyword arguments; unknown keys (and ``via_extra``) in extra_body."""
    known = inspect.signature(resource.create).parameters
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in body.items():
        (kwargs if key in known and key not in via_extra else extra)[key] = value
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def _cut_short(case: Case) -> str | None:
    """How the recorded test ended its stream early: "close", "raise", or None (read it all)."""
    if "not_complete" in case.name:
        return "close"
    if "propagation_error" in case.name or "user_exception" in case.name:
        return "raise"
    return None


def _consume(stream: Any, how: str | None) -> None:
    with stream:
        for _ in stream:
            if how == "raise":
                raise UserError("stopped by the caller")
            if how == "close":
                break


async def _aconsume(stream: Any, how: str | None) -> None:
    async with stream:
        async for _ in stream:
            if how == "raise":
                raise UserError("stopped by the caller")
            if how == "close":
                break


def _call(case: Case, server: ReplayServer, via_extra: tuple[str, ...]) -> BaseException | None:
    """Make the recorded call; the exception it raised, if any."""
    how = _cut_short(case)
    raw = "raw_response" in case.name
    if case.asynchronous:

        async def run() -> None:
            async with openai.AsyncOpenAI(
                api_key="sk-test", base_url=server.base_url, max_retries=0
            ) as client:
                resource = _method(client, case.path)
                kwargs = _arguments(resource, case.request, via_extra)
                if raw:
                    result = (await resource.with_raw_response.create(**kwargs)).parse()
                    if inspect.isawaitable(result):
                        result = await result
                else:
                    result = await resource.create(**kwargs)
                if case.streamed:
                    await _aconsume(result, how)

        try:
            asyncio.run(run())
        except Exception as exc:
            return exc
        return None
    try:
        with openai.OpenAI(api_key="sk-test", base_url=server.base_url, max_retries=0) as client:
            resource = _method(client, case.path)
            kwargs = _arguments(resource, case.request, via_extra)
            result = (
                resource.with_raw_response.create(**kwargs).parse()
                if raw
                else resource.create(**kwargs)
            )
            if case.streamed:
                _consume(result, how)
    except Exception as exc:
        return exc
    return None


# --- the checks ------------------------------------------------------------------------------


class Checks:
    """Collects every mismatch of one case, so one run reports them all."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.failures: list[str] = []
        self.count = 0

    def equal(self, what: str, actual: Any, expected: Any) -> None:
        self.count += 1
        if actual != expected:
            self.failures.append(f"{what}: got {actual!r}, recording says {expected!r}")

    def true(self, what: str, condition: bool) -> None:
        self.count += 1
        if not condition:
            self.failures.append(what)

    def attributes(self, attrs: dict[str, Any], expected: dict[str, Any]) -> None:
        for key, value in expected.items():
            if isinstance(value, list):
                value = tuple(value)
            self.equal(key, attrs.get(key), value)

    def done(self) -> None:
        assert not self.failures, f"{self.case.id}: " + "; ".join(self.failures)


def _untruncated(texts: list[Any], full: str) -> list[Any]:
    """``texts``, with a text cut by the attribute size budget standing for the full one."""
    marker = "…[truncated]"
    return [
        full
        if isinstance(t, str) and t.endswith(marker) and full.startswith(t[: -len(marker)])
        else t
        for t in texts
    ]


def _validate(checks: Checks, attrs: dict[str, Any], key: str) -> Any:
    import jsonschema

    raw = attrs.get(key)
    if raw is None:
        return None
    value = json.loads(raw)
    errors = list(jsonschema.Draft202012Validator(load_schema(key)).iter_errors(value))
    checks.true(f"{key} follows the conventions' schema: {[e.message for e in errors]}", not errors)
    return value


def _check_content(checks: Checks, case: Case, attrs: dict[str, Any]) -> None:
    body = case.request
    inputs = _validate(checks, attrs, "gen_ai.input.messages")
    # Embeddings input is not chat history: the conventions give it no messages attribute.
    checks.equal("gen_ai.input.messages written", inputs is not None, case.path != "/embeddings")
    if case.path == "/chat/completions" and inputs is not None:
        checks.equal("input message count", len(inputs), len(body["messages"]))
        for sent, got in zip(body["messages"], inputs, strict=False):
            checks.equal("input message role", got["role"], sent["role"])
            if isinstance(sent.get("content"), str):
                kind = "tool_call_response" if sent["role"] == "tool" else "text"
                field = "response" if kind == "tool_call_response" else "content"
                texts = [p.get(field) for p in got["parts"] if p["type"] == kind]
                checks.equal(
                    "input message text", _untruncated(texts, sent["content"]), [sent["content"]]
                )
            if isinstance(sent.get("content"), list):
                images = [p for p in sent["content"] if p.get("type") == "image_url"]
                for image in images:
                    url = image["image_url"]["url"]
                    if url.startswith("data:"):
                        checks.true(
                            "inline image elided", url.split(",", 1)[1][:64] not in json.dumps(got)
                        )
    system = _validate(checks, attrs, "gen_ai.system_instructions")
    if isinstance(body.get("instructions"), str):
        checks.equal(
            "system instructions", system, [{"type": "text", "content": body["instructions"]}]
        )
    tools = _validate(checks, attrs, "gen_ai.tool.definitions")
    if body.get("tools"):
        names = [t.get("name") or (t.get("function") or {}).get("name") for t in body["tools"]]
        checks.equal("tool definition names", [t.get("name") for t in tools or []], names)
    outputs = _validate(checks, attrs, "gen_ai.output.messages")
    if case.path == "/embeddings" or case.status >= 400:
        checks.true("no output messages", outputs is None)
        return
    checks.true("gen_ai.output.messages written", outputs is not None)
    if case.path == "/chat/completions" and not case.streamed and outputs is not None:
        choices = case.json()["choices"]
        checks.equal("output message count", len(outputs), len(choices))
        for choice, got in zip(choices, outputs, strict=False):
            message = choice["message"]
            texts = [p["content"] for p in got["parts"] if p["type"] == "text"]
            checks.equal("output text", texts, [message["content"]] if message["content"] else [])
            calls = [p["name"] for p in got["parts"] if p["type"] == "tool_call"]
            wanted = [c["function"]["name"] for c in message.get("tool_calls") or []]
            checks.equal("output tool calls", calls, wanted)


def _check_usage(
    checks: Checks, case: Case, attrs: dict[str, Any], expected: dict[str, Any]
) -> None:
    if "gen_ai.usage.input_tokens" in expected and not _cut_short(case):
        checks.true("usage not marked estimated", "llmtrace.usage.estimated" not in attrs)
        return
    # No usage on the wire (no include_usage, or cut short): estimated, and marked so.
    checks.equal("llmtrace.usage.estimated", attrs.get("llmtrace.usage.estimated"), True)
    checks.true("estimated input tokens > 0", (attrs.get("gen_ai.usage.input_tokens") or 0) > 0)
    billed = billed_input_tokens(case)
    if billed is not None:
        estimate = attrs.get("gen_ai.usage.input_tokens") or 0
        checks.true(
            f"estimated input tokens {estimate} within 25% (or 3) of the {billed} billed",
            abs(estimate - billed) <= max(3, billed // 4),
        )


def replay(case: Case, via_extra: tuple[str, ...] = ()) -> Checks:
    checks = Checks(case)
    from llmtrace.testing import capture_spans

    sampler = StartAttributes()
    with (
        capture_spans(capture_content=True, sampler=sampler) as captured,
        ReplayServer(case) as server,
    ):
        raised = _call(case, server, via_extra)
    spans = captured.spans
    checks.equal("span count", len(spans), 1)
    checks.equal("requests sent", len(server.received), 1)
    if not spans or not server.received:
        checks.done()
    span, sent = spans[0], server.received[0]
    attrs = dict(span.attributes or {})
    # The replay is faithful: what went over the wire is what was recorded (the SDK adds a
    # default encoding_format to embeddings requests).
    recorded = dict(case.request)
    if case.path == "/embeddings":
        recorded.setdefault("encoding_format", sent.get("encoding_format"))
    checks.equal("body sent", sent, recorded)

    checks.equal("span kind", span.kind, SpanKind.CLIENT)
    checks.equal("span name", span.name, f"{attrs.get('gen_ai.operation.name')} {sent['model']}")
    checks.equal("gen_ai.provider.name", attrs.get("gen_ai.provider.name"), "openai_compatible")
    checks.equal("server.address", attrs.get("server.address"), "127.0.0.1")
    checks.equal("server.port", attrs.get("server.port"), server.port)
    checks.attributes(attrs, expected_request(case.path, sent))
    # Conventions: the sampling-relevant attributes are there when the span starts.
    at_start = sampler.seen[0] if sampler.seen else {}
    for key in ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model",
                "server.address", "server.port"):  # fmt: skip
        checks.equal(f"{key} at span start", at_start.get(key), attrs.get(key))

    how = _cut_short(case)
    if case.status >= 400:
        checks.true("the API error reached the caller", isinstance(raised, openai.APIStatusError))
        checks.equal("status", span.status.status_code, StatusCode.ERROR)
        checks.equal("error.type", attrs.get("error.type"), type(raised).__qualname__)
        checks.equal(
            "http.response.status_code", attrs.get("http.response.status_code"), case.status
        )
        checks.true("no response id", "gen_ai.response.id" not in attrs)
    elif how is not None:
        if how == "raise":
            checks.true("the caller's exception passed through", isinstance(raised, UserError))
            checks.equal("error.type", attrs.get("error.type"), "UserError")
        else:
            checks.equal("no exception", raised, None)
        # Conventions: a choice cut short has finish reason "error".
        reasons = attrs.get("gen_ai.response.finish_reasons") or ()
        checks.true(
            f"finish reasons all 'error': {reasons}", bool(reasons) and set(reasons) == {"error"}
        )
        _check_usage(checks, case, attrs, {})
    else:
        checks.equal("no exception", raised, None)
        checks.equal("status", span.status.status_code, StatusCode.UNSET)
        expected = expected_response(case)
        checks.attributes(
            attrs, {k: v for k, v in expected.items() if not k.startswith("gen_ai.usage")}
        )
        if "gen_ai.usage.input_tokens" in expected:
            checks.attributes(
                attrs, {k: v for k, v in expected.items() if k.startswith("gen_ai.usage")}
            )
        _check_usage(checks, case, attrs, expected)
    if case.streamed:
        checks.true("time to first chunk recorded", "gen_ai.response.time_to_first_chunk" in attrs)
    _check_content(checks, case, attrs)
    return checks


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_recorded_case(case: Case) -> None:
    replay(case).done()


def test_extra_body_fields_are_recorded() -> None:
    """The SDK merges ``extra_body`` into the request body: those fields are on the wire too."""
    cases = [c for c in CASES if "service_tier" in c.request and c.status < 400]
    assert cases, "no recorded request with a service_tier"
    for case in cases:
        checks = replay(case, via_extra=("service_tier", "temperature"))
        checks.done()


def test_every_cassette_is_a_case() -> None:
    """Every cassette file (and every interaction in it) is replayed above."""
    files = {(c.source, c.name) for c in CASES}
    assert len(files) == len(list((SHARED / "cassettes").glob("*/*.yaml")))
    assert len(CASES) >= 80
    assert {c.path for c in CASES} == {"/chat/completions", "/responses", "/embeddings"}


def _one_per_kind() -> list[Case]:
    kinds: dict[tuple[str, bool, bool], Case] = {}
    for case in CASES:
        kinds.setdefault((case.path, case.streamed, case.status >= 400), case)
    return list(kinds.values())


@pytest.mark.parametrize("case", _one_per_kind(), ids=lambda c: c.id)
def test_no_content_without_capture(case: Case) -> None:
    """With content capture off (the default) the same call carries no content attributes."""
    from llmtrace.testing import capture_spans

    with capture_spans(capture_content=False) as captured, ReplayServer(case) as server:
        _call(case, server, ())
    [span] = captured.spans
    attrs = dict(span.attributes or {})
    assert not set(attrs) & set(CONTENT_KEYS)
    assert attrs["gen_ai.request.model"] == case.request["model"]


def test_metrics_match_recorded_usage() -> None:
    """The token metrics carry the recorded input and output token counts."""
    case = next(c for c in CASES if c.name == "test_chat_completion_with_content")
    usage = case.json()["usage"]
    with capture_metrics() as metrics:
        replay(case).done()
    points = {}
    for name in (
        "gen_ai.client.inference.operation.input_tokens",
        "gen_ai.client.inference.operation.output_tokens",
    ):
        [(_, point)] = metrics.points(name)
        points[name] = point.sum
    assert points == {
        "gen_ai.client.inference.operation.input_tokens": usage["prompt_tokens"],
        "gen_ai.client.inference.operation.output_tokens": usage["completion_tokens"],
    }
