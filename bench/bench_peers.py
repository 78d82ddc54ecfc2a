"""Peers: the decorator scenarios (1 and 2) for traceloop, Langfuse and MLflow next to llmtrace.

Needs the peers' packages, which llmtrace's own environment does not have::

    python -m venv /tmp/peers
    /tmp/peers/bin/pip install -r bench/requirements-peers.txt
    PYTHONPATH=src /tmp/peers/bin/python bench/bench_peers.py [--quick] [--json out.json]

All variants run interleaved in one process. Each peer is pointed at the same
kind of counting no-op exporter; traceloop uses a SimpleSpanProcessor like
llmtrace and the floors, Langfuse and MLflow bring their own batching
processors (their on_end only queues; export runs on their thread). Every
peer captures content by default, so their rows compare with ``trace_on``.
Spans each exporter received against the calls made are reported: a batching
processor whose queue overflows drops spans.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ.setdefault("TRACELOOP_TELEMETRY", "false")
os.environ.setdefault("TRACELOOP_METRICS_ENABLED", "false")
os.environ.setdefault("TRACELOOP_LOGGING_ENABLED", "false")
os.environ.setdefault("LANGFUSE_MEDIA_UPLOAD_ENABLED", "false")

from _harness import Loop, Row, compare, dump, rounds_for, stat_rows, table
from _otel import CountingExporter, install_llmtrace, plain_provider
from bench_decorator import PARAMS, PROMPT, f, generate

import llmtrace


def _traceloop() -> tuple[Callable[[Callable[..., Any]], Callable[..., Any]], CountingExporter]:
    from traceloop.sdk import Traceloop
    from traceloop.sdk.decorators import task

    exporter = CountingExporter()
    Traceloop.init(
        app_name="bench",
        exporter=exporter,
        disable_batch=True,
        telemetry_enabled=False,
        instruments=set(),
        should_enrich_metrics=False,
    )
    return (lambda fn: task(name=fn.__name__)(fn)), exporter


def _langfuse() -> tuple[Callable[[Callable[..., Any]], Callable[..., Any]], CountingExporter]:
    from langfuse import Langfuse, observe
    from opentelemetry.sdk.trace import TracerProvider

    exporter = CountingExporter()
    Langfuse(
        public_key="pk-lf-bench",
        secret_key="sk-lf-bench",
        base_url="http://127.0.0.1:9",
        tracer_provider=TracerProvider(shutdown_on_exit=False),
        span_exporter=exporter,
    )
    return observe(), exporter


def _mlflow() -> tuple[Callable[[Callable[..., Any]], Callable[..., Any]], CountingExporter]:
    # MLflow exports through OTLP when an endpoint is set; the exporter it builds is
    # replaced by the counting one (nothing listens on that port).
    os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://127.0.0.1:9/v1/traces"
    os.environ["MLFLOW_ENABLE_OTLP_EXPORTER"] = "true"
    # Skips MLflow's search for a local tracking store on every call (nothing listens here).
    os.environ["MLFLOW_TRACKING_URI"] = "http://127.0.0.1:9"
    import mlflow
    import mlflow.tracing.provider as provider

    exporter = CountingExporter()
    provider.get_otlp_exporter = lambda: exporter  # type: ignore[attr-defined]
    provider.reset()  # type: ignore[attr-defined]
    return mlflow.trace, exporter


PEERS = {"traceloop": _traceloop, "langfuse": _langfuse, "mlflow": _mlflow}


def _loop(func: Callable[..., Any], payload: bool) -> Loop:
    if payload:

        def run_payload(n: int) -> object:
            for _ in repeat(None, n):
                func(PROMPT, **PARAMS)
            return None

        return run_payload

    def run(n: int) -> object:
        for _ in repeat(None, n):
            func(1)
        return None

    return run


def _counted(loop: Loop, counter: list[int]) -> Loop:
    def run(n: int) -> object:
        counter[0] += n
        return loop(n)

    return run


def run(quick: bool) -> list[Row]:
    base = plain_provider()
    install_llmtrace()
    tracer = base.provider.get_tracer("bench")
    peers: dict[str, tuple[Callable[..., Any], CountingExporter]] = {}
    notes: list[str] = []
    for name, setup in PEERS.items():
        try:
            peers[name] = setup()
        except Exception as exc:
            notes.append(f"{name}: not measured ({type(exc).__name__}: {exc})")
    rows: list[Row] = []
    for scenario, payload, target in (
        ("peers trivial f(x)", False, f),
        ("peers payload 2K/4K", True, generate),
    ):

        def span_json(*args: Any, _t: Any = target, **kwargs: Any) -> Any:
            with tracer.start_as_current_span("f") as s:
                s.set_attribute("input", json.dumps({"args": args, **kwargs}))
                result = _t(*args, **kwargs)
                s.set_attribute("output", json.dumps(result))
                return result

        def span_only(*args: Any, _t: Any = target, **kwargs: Any) -> Any:
            with tracer.start_as_current_span("f"):
                return _t(*args, **kwargs)

        funcs: dict[str, Callable[..., Any]] = {
            "span": span_only,
            "span+json": span_json,
            "llmtrace trace_off": llmtrace.trace(capture_input=False, capture_output=False)(target),
            "llmtrace trace_on": llmtrace.trace(capture_input=True, capture_output=True)(target),
        }
        counters: dict[str, list[int]] = {}
        loops: dict[str, Loop] = {name: _loop(func, payload) for name, func in funcs.items()}
        for name, (decorate, _exporter) in peers.items():
            counters[name] = [0]
            loops[name] = _counted(_loop(decorate(target), payload), counters[name])
        before = {name: exporter.count for name, (_d, exporter) in peers.items()}
        stats = compare(loops, "span", **rounds_for(quick))
        scenario_rows = stat_rows(scenario, stats, "span")
        for row in scenario_rows:
            if row.variant in peers:
                exporter = peers[row.variant][1]
                _flush(row.variant)
                got = exporter.count - before[row.variant]
                calls = counters[row.variant][0]
                row.note = (
                    f"{stats[row.variant].ratio_to(stats['span+json']):.2f}x span+json; "
                    f"exported {got:,} of {calls:,} spans"
                    + (f" ({100 * (calls - got) / calls:.0f}% dropped)" if got < calls else "")
                )
            elif row.variant == "llmtrace trace_on":
                row.note = f"{stats[row.variant].ratio_to(stats['span+json']):.2f}x span+json"
        rows.extend(scenario_rows)
    if notes:
        rows.append(Row("peers", "not measured", None, note="; ".join(notes)))
    return rows


def _flush(name: str) -> None:
    """Let a batching peer export what it queued, so its count is final."""
    try:
        if name == "langfuse":
            from langfuse import get_client

            get_client().flush()
        elif name == "mlflow":
            import mlflow.tracing.provider as provider

            provider.provider.get().force_flush()  # type: ignore[attr-defined]
    except Exception as exc:
        print(f"could not flush {name}: {exc!r}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = run(args.quick)
    print(table(rows))
    if args.json:
        dump(rows, args.json)


if __name__ == "__main__":
    main()
