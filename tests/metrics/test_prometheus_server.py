"""llmtrace's metrics scraped by a real Prometheus, then read back through its HTTP API.

The test app is this process: ``llmtrace.init(metrics_exporter="prometheus")`` serves the
metrics, the real ``openai`` client calls a local OpenAI-compatible server (answers,
streams, errors), some calls' traces are sampled out, a budget overruns. Prometheus
scrapes every second; the counts, token sums and cost it stores must be what was sent,
and every PromQL expression of the Grafana dashboard and of the alerting rules must
return data.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import openai
import pytest
import yaml
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

import llmtrace
from tests.support.openai_server import LocalServer
from tests.support.prometheus_server import (
    ALERTS,
    DASHBOARD,
    PROMETHEUS_CONFIG,
    PrometheusServer,
    promtool_binary,
    unavailable,
)

pytestmark = pytest.mark.prometheus

# USD per million tokens: whole numbers, so the expected cost is plain arithmetic.
PRICES = {"models": {"acme-chat*": {"input": 1.0, "cached_input": 0.5, "output": 4.0}}}
CHAT_USAGE = {
    "prompt_tokens": 25,
    "completion_tokens": 9,
    "total_tokens": 34,
    "prompt_tokens_details": {"cached_tokens": 8},
    "completion_tokens_details": {"reasoning_tokens": 2},
}
CHAT_COST = (17 * 1.0 + 8 * 0.5 + 9 * 4.0) / 1e6  # plain input, cached input, output
STREAM_USAGE = {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16}
STREAM_COST = (12 * 1.0 + 4 * 4.0) / 1e6
ERROR_BODY = {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}}

SUPPORT_V1 = llmtrace.Prompt("support", "Answer briefly: {q}", version="v1").with_variant("short")
SUPPORT_V2 = llmtrace.Prompt("support", "Answer in detail: {q}", version="v2").with_variant("long")


def chat_body() -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "acme-chat-1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Fine."},
                "finish_reason": "stop",
            }
        ],
        "usage": CHAT_USAGE,
    }


def stream_events() -> bytes:
    def chunk(delta: dict[str, Any] | None, usage: dict[str, Any] | None = None) -> str:
        body = {
            "id": "chatcmpl-s",
            "object": "chat.completion.chunk",
            "created": 1694268190,
            "model": "acme-chat-1",
            "choices": [] if delta is None else [{"index": 0, "delta": delta}],
            "usage": usage,
        }
        return f"data: {json.dumps(body)}\n\n"

    parts = [chunk({"role": "assistant", "content": ""})]
    parts += [chunk({"content": word}) for word in ("Par", "cel ", "soon.")]
    parts += [chunk(None, STREAM_USAGE), "data: [DONE]\n\n"]
    return "".join(parts).encode()


@dataclass
class Sent:
    """What one workload phase sent (per phase; the test runs two)."""

    calls: int = 0
    chats: int = 0
    streams: int = 0
    errors: dict[str, int] | None = None
    v1: int = 0
    v2: int = 0
    sampled_out_for_sure: int = 0
    rejected: int = 0


def unsampled_parent() -> Any:
    """A context whose (remote) parent was not sampled: the call's trace is sampled out."""
    parent = SpanContext(
        trace_id=uuid.uuid4().int & ((1 << 128) - 1) or 1,
        span_id=0x1234,
        is_remote=True,
        trace_flags=TraceFlags(0),
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


def answer(server: LocalServer, body: Any = None, **kwargs: Any) -> None:
    """The server's answer to the next request (and the ones after, until changed)."""
    server.script.clear()
    server.add(body, **kwargs)


def workload(client: openai.OpenAI, server: LocalServer) -> Sent:
    """One phase of traffic; returns what it sent."""
    sent = Sent(errors={"InternalServerError": 1, "RateLimitError": 1})
    messages = [{"role": "user", "content": "Where is my parcel?"}]

    def chat() -> None:
        answer(server, chat_body())
        client.chat.completions.create(model="acme-chat", messages=messages)  # type: ignore[arg-type]

    with llmtrace.use_prompt(SUPPORT_V1, q="parcel"):
        for i in range(4):
            if i < 2:  # these two calls' traces are sampled out by their parent
                token = otel_context.attach(unsampled_parent())
                try:
                    chat()
                finally:
                    otel_context.detach(token)
                sent.sampled_out_for_sure += 1
            else:
                chat()
    with llmtrace.use_prompt(SUPPORT_V2, q="parcel"):
        for _ in range(2):
            chat()
    sent.v1, sent.v2, sent.chats = 4, 2, 6
    for _ in range(3):
        answer(server, events=stream_events())
        stream = client.chat.completions.create(
            model="acme-chat",
            messages=messages,  # type: ignore[arg-type]
            stream=True,
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    sent.streams = 3
    answer(server, ERROR_BODY, status=500)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="acme-chat", messages=messages)  # type: ignore[arg-type]
    answer(server, ERROR_BODY, status=429)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="acme-chat", messages=messages)  # type: ignore[arg-type]
    with llmtrace.budget(max_usd=1e-6, on_exceed="raise", name="nightly"):
        chat()  # goes over the budget
        with pytest.raises(llmtrace.BudgetExceeded):
            chat()  # refused before it is sent: not an LLM call, counted as rejected
    sent.chats += 1
    sent.rejected = 1
    sent.calls = sent.chats + sent.streams + 2
    return sent


@dataclass
class Scraped:
    """What the workload sent and how Prometheus saw it at ``at`` (the test app's endpoint
    closes after the first test, so queries are evaluated at the time it was last seen)."""

    server: PrometheusServer
    job: str
    sent: Sent
    phases: int
    spans_exported: int
    at: float

    def query(self, promql: str) -> list[dict[str, Any]]:
        return self.server.query(promql, self.at)

    def value(self, promql: str) -> float | None:
        return self.server.value(promql, self.at)


@pytest.fixture(scope="module")
def scraped(prometheus: PrometheusServer) -> Iterator[Scraped]:
    """Two phases of traffic, each fully scraped (so rates over both have data)."""
    job = f"llmtrace-test-{uuid.uuid4().hex[:8]}"
    spans = InMemorySpanExporter()
    handle = llmtrace.init(
        service_name=job,
        exporter=spans,
        metrics_exporter="prometheus",
        prometheus_host="127.0.0.1",
        prometheus_port=0,
        sample_rate=0.5,
        instrument=["openai"],
        prices=PRICES,
    )
    server = LocalServer()
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
    try:
        assert handle.prometheus_url is not None
        port = urllib.parse.urlsplit(handle.prometheus_url).port
        assert port
        with prometheus.scrape(job, port):
            prometheus.wait_until_up(job)
            total = f'sum(gen_ai_client_inference_duration_seconds_count{{job="{job}"}})'
            sent = workload(client, server)
            assert prometheus.wait_for(total, sent.calls) == sent.calls
            assert prometheus.wait_for(_cost(job), sent.chats * CHAT_COST + 3 * STREAM_COST)
            workload(client, server)
            assert prometheus.wait_for(total, 2 * sent.calls) == 2 * sent.calls
            assert prometheus.last_time is not None
            expected_cost = 2 * (sent.chats * CHAT_COST + 3 * STREAM_COST)
            assert prometheus.wait_for(_cost(job), expected_cost)
            at = prometheus.last_time
            assert at is not None
            handle.force_flush()
            yield Scraped(prometheus, job, sent, 2, len(spans.get_finished_spans()), at)
    finally:
        client.close()
        server.close()
        llmtrace.shutdown()
        from llmtrace._genai import pricing

        pricing.clear_price_overrides()


def _cost(job: str) -> str:
    return f'sum(llmtrace_client_cost_USD_total{{job="{job}"}})'


def test_every_call_is_counted_also_when_sampled_out(scraped: Scraped) -> None:
    sent, n = scraped.sent, scraped.phases
    # Fewer spans than calls (some traces were dropped), yet every call is counted.
    assert scraped.spans_exported < n * sent.calls
    counts = {
        row["metric"].get("error_type", ""): float(row["value"][1])
        for row in scraped.query(
            "sum by (error_type) (gen_ai_client_inference_duration_seconds_count"
            f'{{job="{scraped.job}"}})'
        )
    }
    assert counts == {
        "": n * (sent.chats + sent.streams),
        "InternalServerError": n * 1,
        "RateLimitError": n * 1,
    }


def test_token_sums_and_cost_match_what_was_sent(scraped: Scraped) -> None:
    prom, job, sent, n = scraped, scraped.job, scraped.sent, scraped.phases

    def total(metric: str) -> float | None:
        return prom.value(f'sum({metric}{{job="{job}"}})')

    tokens = [
        total("gen_ai_client_inference_operation_input_tokens_sum"),
        total("gen_ai_client_inference_operation_output_tokens_sum"),
    ]
    assert tokens == [
        n * (sent.chats * 25 + sent.streams * 12),
        n * (sent.chats * 9 + sent.streams * 4),
    ]
    # The conventions' usage counters: the same totals, and the cached and reasoning parts.
    assert total("gen_ai_client_inference_usage_input_tokens_total") == tokens[0]
    assert total("gen_ai_client_inference_usage_output_tokens_total") == tokens[1]
    details = [
        total("gen_ai_client_inference_usage_cache_read_input_tokens_total"),
        total("gen_ai_client_inference_usage_reasoning_output_tokens_total"),
    ]
    assert details == [n * sent.chats * 8, n * sent.chats * 2]
    cost = prom.value(_cost(job))
    assert cost is not None
    assert math.isclose(cost, n * (sent.chats * CHAT_COST + sent.streams * STREAM_COST))
    ttfc = prom.value(
        f'sum(gen_ai_client_inference_time_to_first_chunk_seconds_count{{job="{job}"}})'
    )
    assert ttfc == n * sent.streams


def test_prompt_version_and_variant_labels(scraped: Scraped) -> None:
    prom, job, n = scraped, scraped.job, scraped.phases
    rows = prom.query(
        "sum by (gen_ai_prompt_name, gen_ai_prompt_version, llmtrace_prompt_variant) "
        f'(gen_ai_client_inference_duration_seconds_count{{job="{job}", gen_ai_prompt_name!=""}})'
    )
    counts = {
        (
            row["metric"]["gen_ai_prompt_name"],
            row["metric"]["gen_ai_prompt_version"],
            row["metric"]["llmtrace_prompt_variant"],
        ): float(row["value"][1])
        for row in rows
    }
    assert counts == {
        ("support", "v1", "short"): n * scraped.sent.v1,
        ("support", "v2", "long"): n * scraped.sent.v2,
    }
    v1_cost = prom.value(
        f'sum(llmtrace_client_cost_USD_total{{job="{job}", gen_ai_prompt_version="v1"}})'
    )
    assert v1_cost is not None
    assert math.isclose(v1_cost, n * scraped.sent.v1 * CHAT_COST)


def test_budget_overruns_and_refused_calls(scraped: Scraped) -> None:
    prom, job, n = scraped, scraped.job, scraped.phases
    for metric in ("llmtrace_budget_exceeded_total", "llmtrace_budget_rejected_calls_total"):
        [row] = prom.query(f'{metric}{{job="{job}"}}')
        assert row["metric"]["llmtrace_budget_name"] == "nightly"
        assert float(row["value"][1]) == n


def test_no_user_or_session_labels(scraped: Scraped) -> None:
    names = scraped.server.api("labels", **{"match[]": f'{{job="{scraped.job}"}}'})
    assert not [name for name in names if "user" in name or "session" in name]


# --- the dashboard and the alerting rules, against the data above -------------------------

GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
}


def dashboard_queries(job: str) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every panel target, Grafana's variables filled in."""
    dashboard = json.loads(DASHBOARD.read_text())
    replacements = {**GRAFANA_VARIABLES, "$job": job, "$model": ".*", "$prompt": ".*"}
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in replacements.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, f"unfilled variable in {panel['title']!r}: {expr}"
            found.append((panel["title"], expr))
    return found


def test_every_dashboard_query_returns_data(scraped: Scraped) -> None:
    queries = dashboard_queries(scraped.job)
    assert len(queries) >= 15
    empty = []
    for title, expr in queries:
        values = [float(row["value"][1]) for row in scraped.query(expr)]
        if not [v for v in values if not math.isnan(v)]:
            empty.append((title, expr, values))
    assert empty == []


def test_dashboard_variables_find_values(scraped: Scraped) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    pattern = re.compile(r"^label_values\((?P<match>.+), (?P<label>\w+)\)$")
    checked = 0
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        parsed = pattern.match(variable["query"]["query"].replace("$job", scraped.job))
        assert parsed, variable["query"]
        values = scraped.server.api(
            f"label/{parsed['label']}/values", **{"match[]": parsed["match"]}
        )
        assert values, variable["name"]
        checked += 1
    assert checked == 3


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_every_alert_query_returns_data(scraped: Scraped) -> None:
    rules = alert_rules()
    assert {rule["alert"] for rule in rules} >= {
        "LLMHighErrorRate",
        "LLMSlowResponses",
        "LLMSpendPerHourHigh",
    }
    for rule in rules:
        # Each alert is "<query> > <threshold>": the query must see the test's series.
        parsed = re.match(r"^(?P<query>.*\S)\s*>\s*(?P<threshold>[0-9.]+)\s*$", rule["expr"], re.S)
        assert parsed, rule["alert"]
        query = parsed["query"]
        rows = scraped.query(query)
        ours = [r for r in rows if r["metric"].get("job") == scraped.job]
        assert ours, (rule["alert"], query)
        assert all(not math.isnan(float(r["value"][1])) for r in ours), (rule["alert"], ours)


def test_rules_load_in_prometheus_and_the_error_alert_goes_pending(scraped: Scraped) -> None:
    groups = scraped.server.api("rules")["groups"]
    loaded = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert set(loaded) >= {rule["alert"] for rule in alert_rules()}
    for name, rule in loaded.items():
        assert rule["health"] == "ok", (name, rule.get("lastError"))  # evaluated, no error
    # 2 of the 12 calls of each phase failed: far above the 5% threshold.
    job = scraped.job
    states = []
    for _ in range(100):
        alerts = scraped.server.api("alerts")["alerts"]
        states = [
            a["state"]
            for a in alerts
            if a["labels"]["alertname"] == "LLMHighErrorRate" and a["labels"].get("job") == job
        ]
        if states:
            break
        time.sleep(0.2)
    assert states and states[0] in ("pending", "firing")


# --- static checks with promtool ----------------------------------------------------------


@pytest.fixture
def promtool() -> str:
    binary = promtool_binary()
    if binary is None:
        unavailable("no promtool (Debian's prometheus package has it)")
    assert binary
    return binary


def test_promtool_checks_the_rules(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout


def test_promtool_checks_the_example_config(promtool: str) -> None:
    result = subprocess.run(
        [promtool, "check", "config", str(PROMETHEUS_CONFIG)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
