"""Secrets never leave the process through llmtrace, whatever the capture settings.

API keys (passed to the client, or in OPENAI_API_KEY), bearer tokens and
Authorization / api-key headers are set everywhere an application sets them; every
exported span and event (decoded on a fake OTLP collector) and every log record of
llmtrace and OpenTelemetry, at DEBUG, is scanned for them. The redaction hook masks
PII before serialisation; a failing hook drops the content, never the span.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

import llmtrace
from llmtrace import ConfigurationError, semconv
from llmtrace.testing import SpanCapture
from tests.support.reliability import (
    BlackHole,
    Figures,
    OpenAIHandler,
    OTLPHttpCollector,
    ask,
    export_processor,
    openai_client,
    refused_endpoint,
    tracing_to,
)

openai = pytest.importorskip("openai")
httpx2 = pytest.importorskip("httpx2")
pytest.importorskip("langchain_openai")

KEY = "sk-proj-CLIENTKEY0123456789abcdefABCDEF"
ENV_KEY = "sk-proj-ENVKEY0123456789abcdefABCDEFGH"
BEARER = "tok-BEARER0123456789abcdef"
AZURE_KEY = "az-AZUREKEY0123456789abcdef"
HEADER_KEY = "hdr-XAPIKEY0123456789abcdef"
LC_KEY = "sk-proj-LANGCHAINKEY0123456789abcdef"
OTLP_TOKEN = "glc_OTLPTOKEN0123456789abcdef"
SECRETS = [KEY, ENV_KEY, BEARER, AZURE_KEY, HEADER_KEY, LC_KEY, OTLP_TOKEN]


class AllRecords(logging.Handler):
    """Every record of the loggers llmtrace owns or drives, formatted as it would print."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # includes the traceback, if any


@pytest.fixture
def all_logs() -> Iterator[AllRecords]:
    handler = AllRecords()
    loggers = [logging.getLogger(name) for name in ("llmtrace", "opentelemetry")]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for lg, level in saved:
            lg.removeHandler(handler)
            lg.setLevel(level)


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def _unauthorized(request: Any) -> Any:
    return httpx2.Response(
        401,
        json={"error": {"message": "Incorrect API key provided: sk-proj-****CDEF",
                        "type": "invalid_request_error", "code": "invalid_api_key"}},
    )  # fmt: skip


def _embeddings(request: Any) -> Any:
    return httpx2.Response(
        200, json={"object": "list", "model": "text-embedding-3-small",
                   "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                   "usage": {"prompt_tokens": 2, "total_tokens": 2}},
    )  # fmt: skip


@llmtrace.trace(name="answer", kind="workflow", capture_input=True, capture_output=True)
def answer(client: Any, question: str) -> str:
    """A decorated function receiving the client: the client's repr must not leak its key."""
    response = ask(client, question, extra_headers={"Authorization": f"Bearer {BEARER}"})
    return str(response.choices[0].message.content)


def exercise_everything(seen: list[Any]) -> None:
    """Every way an app hands a secret to the OpenAI SDK or LangChain."""
    handler = OpenAIHandler()
    client = openai_client(handler, api_key=KEY, default_headers={"X-Api-Key": HEADER_KEY})
    env_client = openai_client(OpenAIHandler(), api_key=None)  # from OPENAI_API_KEY
    azure = openai.AzureOpenAI(
        api_key=AZURE_KEY,
        api_version="2024-10-21",
        azure_endpoint="https://contoso.openai.azure.com",
        http_client=httpx2.Client(transport=httpx2.MockTransport(OpenAIHandler())),
        max_retries=0,
    )
    assert answer(client, "Capital of France?")
    assert list(ask(client, stream=True, extra_headers={"api-key": AZURE_KEY}))
    ask(env_client, extra_headers={"Authorization": f"Bearer {BEARER}"})
    ask(azure)
    embed_client = openai_client(_embeddings, api_key=KEY)
    embed_client.embeddings.create(model="text-embedding-3-small", input="hello")
    with pytest.raises(openai.AuthenticationError):
        ask(openai_client(_unauthorized, api_key=KEY))

    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        model="gpt-4o-mini",
        api_key=LC_KEY,
        http_client=httpx2.Client(transport=httpx2.MockTransport(OpenAIHandler())),
        default_headers={"Authorization": f"Bearer {BEARER}"},
        max_retries=0,
    )
    assert model.invoke("hi").content
    seen.extend(handler.requests)


@pytest.mark.parametrize("capture_content", [False, True], ids=["capture-off", "capture-on"])
def test_keys_and_auth_headers_never_reach_exported_spans_or_logs(
    capture_content: bool, all_logs: AllRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    seen: list[Any] = []
    with (
        OTLPHttpCollector() as collector,
        tracing_to(
            collector.endpoint,
            instrument=True,
            capture_content=capture_content,
            headers={"Authorization": f"Basic {OTLP_TOKEN}"},
        ) as handle,
    ):
        exercise_everything(seen)
        assert llmtrace.force_flush(timeout=10)
        assert export_processor(handle).failed == 0
        exported = collector.received.dump_spans()
        otlp_headers = collector.received.headers

    # The secrets were really in play: sent to the API and to the collector ...
    sent = " ".join(str(dict(r.headers)) for r in seen)
    assert KEY in sent and HEADER_KEY in sent and BEARER in sent
    sent_to_collector = [{k.lower(): v for k, v in h.items()} for h in otlp_headers]
    assert all(h.get("authorization") == f"Basic {OTLP_TOKEN}" for h in sent_to_collector)
    assert collector.span_count >= 8
    # ... and never in what llmtrace exported or logged.
    assert leaked(exported) == []
    assert leaked("\n".join(all_logs.lines)) == []
    if capture_content:
        assert "Capital of France?" in exported  # content capture was really on
    Figures.add("security.spans_scanned", collector.span_count)
    Figures.add("security.log_records_scanned", len(all_logs.lines))


@pytest.mark.parametrize("fault", ["refused", "blackhole", "status-401"])
def test_otlp_headers_are_never_logged_even_when_export_fails(
    fault: str, all_logs: AllRecords
) -> None:
    headers = {"Authorization": f"Bearer {OTLP_TOKEN}", "X-Scope-OrgID": OTLP_TOKEN}
    for protocol in ("http/protobuf", "grpc"):
        if fault == "refused":
            endpoint, closer = refused_endpoint(), None
        elif fault == "blackhole":
            hole = BlackHole()
            endpoint, closer = hole.endpoint, hole.close
        else:
            collector = OTLPHttpCollector().start()
            collector.always = 401
            endpoint, closer = collector.endpoint, collector.stop
        try:
            with tracing_to(endpoint, protocol=protocol, headers=headers, export_timeout=0.5,
                            shutdown_timeout=0.5):  # fmt: skip
                with llmtrace.span("work"):
                    pass
                llmtrace.force_flush(timeout=1.0)
        finally:
            if closer is not None:
                closer()
    assert any("export" in line.lower() for line in all_logs.lines)  # failures were logged
    assert leaked("\n".join(all_logs.lines)) == []


def test_otlp_headers_never_appear_in_errors_warnings_or_reprs(
    all_logs: AllRecords, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        llmtrace.init(headers={"Authorization": 12345, "X": OTLP_TOKEN}, endpoint="nope")
    assert OTLP_TOKEN not in str(raised.value)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"Authorization=Basic {OTLP_TOKEN},broken")
    handle = llmtrace.init(exporter="none", instrument=False)
    assert OTLP_TOKEN not in repr(handle.settings)
    assert OTLP_TOKEN not in str(vars(handle))
    assert leaked("\n".join(all_logs.lines)) == []
    assert any("OTEL_EXPORTER_OTLP_HEADERS" in line for line in all_logs.lines)


# -- the redaction hook ---------------------------------------------------------------------

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
CARD = re.compile(r"\b(?:\d[ -]?){13,19}\b")


def mask_pii(value: Any) -> Any:
    """The example of docs/reliability.md: masks e-mail addresses and card-like numbers."""
    if isinstance(value, str):
        return CARD.sub("[card]", EMAIL.sub("[email]", value))
    if isinstance(value, dict):
        return {key: mask_pii(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_pii(item) for item in value]
    return value


PII = "Reach jane.doe@example.com, card 4111 1111 1111 1111, or 5500-0000-0000-0004."


@llmtrace.trace(name="support", capture_input=True, capture_output=True)
def support(message: str) -> dict[str, str]:
    return {"reply": f"We got: {message}"}


def test_the_redaction_hook_masks_pii_in_every_content_attribute(
    captured_content: SpanCapture,
) -> None:
    from llmtrace._runtime import runtime

    runtime.redact = mask_pii
    from llmtrace.instrumentation.openai import instrument_openai, uninstrument_openai

    instrument_openai()
    try:
        assert support(PII) == {"reply": f"We got: {PII}"}  # the app sees its own data
        client = openai_client(OpenAIHandler(body=_chat_with(PII)))
        assert ask(client, PII).choices[0].message.content == PII
    finally:
        uninstrument_openai()
    text = json.dumps([dict(s.attributes or {}) for s in captured_content.spans])
    assert "jane.doe" not in text and "4111" not in text and "5500" not in text
    assert text.count("[email]") >= 4 and text.count("[card]") >= 8  # input and output
    llm = next(s for s in captured_content.spans if s.kind.name == "CLIENT")
    assert "[email]" in str(llm.attributes[semconv.GEN_AI_INPUT_MESSAGES])
    assert "[email]" in str(llm.attributes[semconv.GEN_AI_OUTPUT_MESSAGES])


def _chat_with(content: str) -> dict[str, Any]:
    from tests.support.reliability import chat_body

    return chat_body(content)


def test_a_failing_redaction_hook_drops_the_content_never_the_span(
    captured_content: SpanCapture, caplog: pytest.LogCaptureFixture
) -> None:
    from llmtrace._runtime import runtime

    def broken(value: Any) -> Any:
        raise ValueError(f"cannot mask {value!r}")  # its message carries the content

    runtime.redact = broken
    caplog.set_level(logging.DEBUG, logger="llmtrace")
    for _ in range(50):
        assert support(PII) == {"reply": f"We got: {PII}"}
    spans = captured_content.by_name("support")
    assert len(spans) == 50
    for span in spans:
        attributes = dict(span.attributes or {})
        assert semconv.LLMTRACE_INPUT not in attributes
        assert semconv.LLMTRACE_OUTPUT not in attributes
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1  # once, not once per call
    assert "jane.doe" not in caplog.text  # the hook's message (with the content) is not logged


def test_the_scan_would_see_a_leak(all_logs: AllRecords) -> None:
    """Control: a secret put on a span, an event and a log line is found by the same scan."""
    with OTLPHttpCollector() as collector, tracing_to(collector.endpoint):
        with llmtrace.span("leaky") as span:
            span.set_attribute("oops", f"Bearer {BEARER}")
            span.span.add_event("e", {"k": KEY})
        logging.getLogger("llmtrace").debug("key=%s", HEADER_KEY)
        assert llmtrace.force_flush(timeout=5)
        exported = collector.received.dump_spans()
    assert leaked(exported) == [KEY, BEARER]
    assert leaked("\n".join(all_logs.lines)) == [HEADER_KEY]
