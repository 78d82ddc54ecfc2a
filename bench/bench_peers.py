"""Peers next to llmtrace: the decorator scenarios, and the OpenAI instrumentations.

Needs the peers' packages, which llmtrace's own environment does not have::

    python -m venv /tmp/peers
    /tmp/peers/bin/pip install -r bench/requirements-peers.txt
    PYTHONPATH=src /tmp/peers/bin/python bench/bench_peers.py [--quick] [--json out.json]
    PYTHONPATH=src /tmp/peers/bin/python bench/bench_peers.py --part openai   # one part

Each part runs in its own interpreter; within a part all variants run
interleaved in one process.

**Decorators** (scenarios 1 and 2): traceloop, Langfuse and MLflow. Each peer is
pointed at the same kind of counting no-op exporter; traceloop uses a
SimpleSpanProcessor like llmtrace and the floors, Langfuse and MLflow bring
their own batching processors (their on_end only queues; export runs on their
thread). Every peer captures content by default, so their rows compare with
``trace_on``. Spans each exporter received against the calls made are
reported: a batching processor whose queue overflows drops spans.

**OpenAI** (scenarios 3 and 4): opentelemetry-instrumentation-openai-v2 (the
official contrib one, "official"), openinference-instrumentation-openai and
OpenLLMetry's opentelemetry-instrumentation-openai, each with and without
content capture, next to llmtrace and the minimal patch of ``bench_openai.py``.
Each peer's instrumentor runs once on its own TracerProvider (SimpleSpanProcessor
into a counting exporter, as for llmtrace); the wrappers it installs are kept
and the patch is undone, then one router (``_openai_fixture.Router``) at every
patch point (the request methods for llmtrace, OpenInference and the floor;
``Completions.create`` for the official one and OpenLLMetry) sends each call
to the variant being measured. Measured end to end over the mock transport,
and wrapper only (see ``bench_openai.py``). No variant records metrics here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ.setdefault("TRACELOOP_TELEMETRY", "false")
os.environ.setdefault("TRACELOOP_METRICS_ENABLED", "false")
os.environ.setdefault("TRACELOOP_LOGGING_ENABLED", "false")
os.environ.setdefault("LANGFUSE_MEDIA_UPLOAD_ENABLED", "false")

from _harness import Loop, Row, compare, dump, load, rounds_for, stat_rows, table
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


# -- OpenAI: the peers' OpenAI instrumentations next to llmtrace's ---------------------------

CREATE_POINT = "openai.resources.chat.completions:Completions.create"
ACREATE_POINT = "openai.resources.chat.completions:AsyncCompletions.create"
OI_POINT = "openai:OpenAI.request"
AOI_POINT = "openai:AsyncOpenAI.request"
PEER_POINTS = [CREATE_POINT, ACREATE_POINT, OI_POINT, AOI_POINT]
# Content switches the peers read (traceloop on every call, the official one at instrument).
OFFICIAL_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
TRACELOOP_CONTENT = "TRACELOOP_TRACE_CONTENT"
PROMPT_TEXT = "Name three colours."  # the user message of the benchmark's requests
OI_HIDE = (
    "hide_inputs",
    "hide_outputs",
    "hide_input_messages",
    "hide_output_messages",
    "hide_input_text",
    "hide_output_text",
)


def _switch(content: bool, env: dict[str, str]) -> Callable[[], None]:
    """What ``Router.use`` runs for a variant: metrics off, content capture as given."""
    from llmtrace._genai import metrics
    from llmtrace._runtime import runtime

    def use() -> None:
        metrics._instruments = None
        runtime.capture_content = content
        for key in (OFFICIAL_CONTENT, TRACELOOP_CONTENT):
            if key in env:
                os.environ[key] = env[key]
            else:
                os.environ.pop(key, None)

    return use


def _instrumented(name: str, instrument: Callable[[Any], object], uninstrument: Any) -> Any:
    """Run one peer's instrumentor on its own provider; keep its wrappers, then undo it."""
    from _openai_fixture import peer_wrappers

    provider = plain_provider()
    wrappers = peer_wrappers(lambda: instrument(provider.provider), uninstrument, PEER_POINTS)
    if not wrappers:
        raise RuntimeError(f"{name}: the instrumentor patched none of {PEER_POINTS}")
    return wrappers, provider.exporter


def _openai_peers() -> tuple[list[Any], list[str]]:
    from _openai_fixture import Variant

    variants: list[Any] = []
    notes: list[str] = []
    try:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor as Official

        for content in (False, True):
            env = {OFFICIAL_CONTENT: "SPAN_ONLY"} if content else {}
            _switch(content, env)()  # read at instrument time
            official = Official()
            wrappers, exporter = _instrumented(
                "official",
                lambda tp, o=official: o.instrument(tracer_provider=tp),
                official.uninstrument,
            )
            name = "official content" if content else "official no content"
            variants.append(Variant(name, wrappers, _switch(content, env), exporter))
    except Exception as exc:
        notes.append(f"official: not measured ({type(exc).__name__}: {exc})")
    try:
        from openinference.instrumentation import TraceConfig
        from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInference

        for content in (True, False):
            config = TraceConfig() if content else TraceConfig(**dict.fromkeys(OI_HIDE, True))
            oi = OpenInference()
            wrappers, exporter = _instrumented(
                "openinference",
                lambda tp, o=oi, c=config: o.instrument(tracer_provider=tp, config=c),
                oi.uninstrument,
            )
            name = "openinference content" if content else "openinference no content"
            variants.append(Variant(name, wrappers, _switch(content, {}), exporter))
    except Exception as exc:
        notes.append(f"openinference: not measured ({type(exc).__name__}: {exc})")
    try:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as OpenLLMetry

        openllmetry = OpenLLMetry()
        wrappers, exporter = _instrumented(
            "openllmetry",
            lambda tp: openllmetry.instrument(tracer_provider=tp),
            openllmetry.uninstrument,
        )
        for content in (True, False):
            env = {TRACELOOP_CONTENT: "true" if content else "false"}
            name = "openllmetry content" if content else "openllmetry no content"
            variants.append(Variant(name, wrappers, _switch(content, env), exporter))
    except Exception as exc:
        notes.append(f"openllmetry: not measured ({type(exc).__name__}: {exc})")
    _switch(False, {})()
    return variants, notes


def _probe(router: Any, names: list[str], call: Callable[[int], object]) -> dict[str, str]:
    """One call per variant: the span it exported (name, attribute count, content or not)."""
    seen: dict[int, Any] = {}
    export = CountingExporter.export

    def remember(self: CountingExporter, spans: Any) -> Any:
        seen[id(self)] = spans[-1]
        return export(self, spans)

    CountingExporter.export = remember  # type: ignore[method-assign]
    try:
        found = {}
        for name in names:
            exporter = router.variants[name].exporter
            if exporter is None:
                continue
            router.use(name)
            seen.pop(id(exporter), None)
            call(1)
            span = seen.get(id(exporter))
            if span is None:
                found[name] = "no span"
                continue
            values = [str(v) for v in (span.attributes or {}).values()]
            content = any(PROMPT_TEXT in v for v in values)
            found[name] = f"{len(values)} attributes{', content' if content else ''}"
        return found
    finally:
        CountingExporter.export = export  # type: ignore[method-assign]


def run_openai(quick: bool) -> list[Row]:
    """Chat and streams, end to end and wrapper only: llmtrace, the floors and the peers."""
    from _openai_fixture import (
        ASYNC_POINT,
        CHUNKS,
        MESSAGES,
        SYNC_POINT,
        Calls,
        Captured,
        Variant,
        added,
        capture,
        chat_loop,
        clients,
        exporter_counts,
        setup,
        stream_loop,
        wrapper_loop,
    )

    # Before the router: each peer patches the real methods, and the captured calls must
    # reach each patch point uninstrumented.
    peers, notes = _openai_peers()
    sync, _ = clients()
    point_of = dict.fromkeys(["minimal", "llmtrace no content", "llmtrace content"], SYNC_POINT)
    point_of.update({v.name: next(iter(v.wrappers)) for v in peers})
    chat_calls: dict[str, Captured] = {}
    stream_calls: dict[str, Captured] = {}
    for point in {SYNC_POINT, *point_of.values()}:
        chat_calls[point] = capture(
            point, lambda: sync.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        )
        stream_calls[point] = capture(
            point,
            lambda: sync.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True
            ),
        )
    long_calls = {}
    for point, short in stream_calls.items():
        assert short.chunks is not None
        long = Captured(short.instance, short.args, short.kwargs, short.result)
        long.chunks = short.chunks[:-2] * 4 + short.chunks[-2:]
        long_calls[point] = long
    extra_chunks = 3 * (len(stream_calls[SYNC_POINT].chunks or []) - 2)
    env = setup([SYNC_POINT, ASYNC_POINT, *PEER_POINTS])
    router = env.router
    mine = router.variants["llmtrace"]
    ours = {"llmtrace no content": False, "llmtrace content": True}
    for name, content in ours.items():
        router.add(Variant(name, mine.wrappers, _switch(content, {}), mine.exporter))
    for variant in peers:
        router.add(variant)
    names = ["minimal", *ours, *(v.name for v in peers)]
    rows: list[Row] = []
    probe = _probe(router, names, chat_loop(sync))
    e2e = {**rounds_for(quick), "sample_s": 0.03 if quick else 0.06}
    e2e_stream = {**e2e, "sample_s": 0.08 if quick else 0.15}
    try:
        for scenario, call, options in (
            ("openai chat sync", chat_loop(sync), e2e),
            ("openai stream sync", stream_loop(sync), e2e_stream),
        ):
            calls = Calls()
            before = exporter_counts(router.variants)
            loops = {n: calls.loop(router, n, call) for n in ["bare", *names]}
            stats = compare(loops, "minimal", same_calls=True, **options)
            notes += [f"{scenario}: {p}" for p in calls.check(router.variants, before)]
            floor = added(stats, "minimal", "bare")
            for name in ["bare", *names]:
                extra = added(stats, name, "bare")
                row = Row(f"{scenario} (end to end)", name, stats[name].us, stats[name].ratio)
                row.baseline = "minimal"
                row.extra = {"added_us": extra, "added_ratio": extra / floor}
                if name != "bare":
                    row.note = f"adds {extra:.1f} µs, {extra / floor:.2f}x minimal's"
                rows.append(row)
        results = []
        for scenario, captured in (
            ("openai chat sync", chat_calls),
            (f"openai stream sync, {CHUNKS + 1} chunks", stream_calls),
            ("openai stream sync, 4x chunks", long_calls),
        ):
            calls = Calls()
            before = exporter_counts(router.variants)
            loops = {"stub": calls.loop(router, "bare", wrapper_loop(None, captured[SYNC_POINT]))}
            for name in names:
                point = point_of[name]
                wrapper = router.variants[name].wrappers[point]
                loops[name] = calls.loop(router, name, wrapper_loop(wrapper, captured[point]))
            stats = compare(loops, "minimal", **rounds_for(quick))
            notes += [f"{scenario} wrapper only: {p}" for p in calls.check(router.variants, before)]
            results.append({name: added(stats, name, "stub") for name in names})
            if scenario.endswith("4x chunks"):
                continue
            for name in names:
                value = results[-1][name]
                row = Row(f"{scenario} (wrapper only)", name, value, value / results[-1]["minimal"])
                row.baseline = "minimal"
                row.note = probe.get(name, "") if scenario == "openai chat sync" else ""
                rows.append(row)
        _chat, short, long = results
        for row in rows:
            if row.scenario.startswith(f"openai stream sync, {CHUNKS + 1}"):
                per_chunk = (long[row.variant] - short[row.variant]) / extra_chunks
                row.extra["per_chunk_us"] = per_chunk
                row.note = f"per chunk {per_chunk * 1000:.0f} ns"
    finally:
        env.close()
    if notes:
        rows.append(Row("openai peers", "problems", None, note="; ".join(notes)))
    return rows


PARTS = {"decorator": run, "openai": run_openai}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    parser.add_argument(
        "--part", choices=sorted(PARTS), help="run one part here (default: each in its own process)"
    )
    args = parser.parse_args()
    if args.part:
        rows = PARTS[args.part](args.quick)
    else:
        rows = []
        for part in PARTS:
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "rows.json"
                cmd = [sys.executable, __file__, "--part", part, "--json", str(out)]
                proc = subprocess.run(cmd + (["--quick"] if args.quick else []), check=False)
                if proc.returncode or not out.exists():
                    rows.append(
                        Row(f"peers {part}", "failed", None, note=f"exit {proc.returncode}")
                    )
                    continue
                rows += load(str(out))
    print(table(rows))
    if args.json:
        dump(rows, args.json)


if __name__ == "__main__":
    main()
