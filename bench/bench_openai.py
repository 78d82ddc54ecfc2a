"""What the OpenAI instrumentation costs per call and per stream chunk, against floors.

    python bench/bench_openai.py [--quick] [--json out.json]

Two measurements, each with its variants interleaved in one process:

**End to end.** The real ``openai`` client (sync and async) calls
``chat.completions.create`` over an in-process mock transport that returns a
realistic completion with usage (or a 50-chunk stream plus the usage chunk,
fully consumed). One dispatching wrapper per patch point stays installed for
the whole run and routes each call to the variant being measured (re-patching
between samples would deoptimise the interpreter's caches and bias whichever
variant runs next); ``bare`` goes through the same dispatcher, so the
dispatcher cancels out of every difference. Every variant makes the same
number of calls per sample, after warm-up (a first call costs ~25 ms of lazy
imports; an earlier version let that fool the calibration into one-call
samples, each measured cold just after ``gc.collect()``, which made ``bare``
look slower than the patched client).

**Wrapper only.** The same wrappers called directly around a stub of the
patched method that returns a response captured from the mock transport (for
streams: an ``openai.Stream``, or for async streams an ``openai.AsyncStream``
read with ``async for``, replaying captured chunks). This leaves out the
~850 µs the SDK spends per call, whose run-to-run noise is larger than the
instrumentation's cost, so the added time per call and per chunk is measured
to a fraction of a microsecond.

Variants:

- ``bare`` / ``stub``: no instrumentation.
- ``minimal``: a hand-written wrapt patch: one CLIENT span with the model and
  the token usage (streams: a minimal proxy reading the last chunk's usage).
  The floor the targets compare with.
- ``minimal+metrics``: the same plus the six measurements llmtrace records for
  a chat call (duration, input and output token histograms and counters, cost)
  with the same attributes.
- ``same attrs``: a hand-written patch writing every attribute llmtrace
  writes (cost from a fixed price), span made current during the call: the
  SDK's own cost for what llmtrace records.
- ``same data``: a plain hand-written patch that records exactly what
  ``llmtrace+metrics`` records for chat calls and streams (every attribute, the
  span made current during the call, the duration, token, time-to-first-chunk
  and cost metrics): the floor for llmtrace's data (issue "One GenAI core").
- ``llmtrace``: the wrapper ``instrument_openai()`` installs (content capture
  off), with metrics off; ``llmtrace+metrics`` with llmtrace's metrics going
  to a ``MeterProvider`` with an in-memory reader (aggregation on every
  record, as with any reader; collection is not measured).

Every tracing variant exports through ``SimpleSpanProcessor`` into a counting
no-op exporter; the run checks each exporter received one span per call. The
mock API, the floors and the router live in ``_openai_fixture.py`` (shared with
``bench_peers.py``). Per stream chunk: the wrapper-only stream measured again with
four times the content chunks; the difference divided by the extra chunks.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from itertools import repeat
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Row, compare, dump, rounds_for, table
from _openai_fixture import (
    ASYNC_POINT,
    CHUNKS,
    MESSAGES,
    SYNC_POINT,
    Calls,
    Captured,
    Setup,
    Variant,
    Wrapper,
    added,
    async_stream_loop,
    attribute_differences,
    capture,
    chat_loop,
    clients,
    exporter_counts,
    minimal_metrics_patch,
    same_attributes_patch,
    setup,
    stream_loop,
    wrapper_loop,
)

__all__ = ["MESSAGES", "_clients", "end_to_end", "wrapper_only"]

_clients = clients  # the name bench_memory.py uses


def end_to_end(env: Setup, quick: bool) -> tuple[list[Row], list[str]]:
    router = env.router
    sync, async_ = clients()
    loop = asyncio.new_event_loop()

    async def achat(n: int) -> None:
        for _ in repeat(None, n):
            await async_.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    async def astream(n: int) -> None:
        for _ in repeat(None, n):
            response = await async_.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True
            )
            async for _chunk in response:
                pass

    scenarios: list[tuple[str, Callable[[int], object]]] = [
        ("chat sync", chat_loop(sync)),
        ("chat async", lambda n: loop.run_until_complete(achat(n))),
        ("stream sync", stream_loop(sync)),
        ("stream async", lambda n: loop.run_until_complete(astream(n))),
    ]
    options = {**rounds_for(quick), "sample_s": 0.03 if quick else 0.06}
    names = ["bare", "minimal", "same data", "llmtrace", "llmtrace+metrics"]
    rows: list[Row] = []
    notes: list[str] = []
    try:
        for scenario, call in scenarios:
            calls = Calls()
            before = exporter_counts(router.variants)
            loops = {name: calls.loop(router, name, call) for name in names}
            # A stream costs ~5 ms: longer samples, so that each holds enough of them.
            sample = {"sample_s": options["sample_s"] * 2.5} if "stream" in scenario else {}
            stats = compare(loops, "minimal", same_calls=True, **{**options, **sample})
            notes += [f"{scenario}: {p}" for p in calls.check(router.variants, before)]
            base = added(stats, "minimal", "bare")
            for name in names:
                stat = stats[name]
                row = Row(f"{scenario} (end to end)", name, stat.us, stat.ratio, "minimal")
                row.extra = {"calls": stat.calls, "added_us": added(stats, name, "bare")}
                if name.startswith("llmtrace"):
                    mine = row.extra["added_us"]
                    same = added(stats, "same data", "bare")
                    row.note = (
                        f"adds {mine:.1f} µs over bare, {mine / base:.2f}x minimal's {base:.1f} µs"
                    )
                    if name == "llmtrace+metrics":
                        row.note += f", {mine / same:.2f}x same data's {same:.1f} µs"
                rows.append(row)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    return rows, notes


def wrapper_only(env: Setup, quick: bool) -> tuple[list[Row], list[str]]:
    env.router.use("bare")  # the captured calls must not go through any instrumentation
    sync, _ = clients()
    chat_call = capture(
        SYNC_POINT, lambda: sync.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    )
    stream_call = capture(
        SYNC_POINT,
        lambda: sync.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True),
    )
    router = env.router
    extra = {
        "minimal+metrics": Variant(
            "minimal+metrics",
            {SYNC_POINT: minimal_metrics_patch(env.floor_tracer, env.floor_meter)},
            env.metrics_off,
            env.exporters["floor"],
        ),
        "same attrs": Variant(
            "same attrs",
            {SYNC_POINT: same_attributes_patch(env.floor_tracer)},
            env.metrics_off,
            env.exporters["floor"],
        ),
    }
    for variant in extra.values():
        router.add(variant)
    # The same stream with four times the content chunks: the difference is per chunk.
    assert stream_call.chunks is not None and stream_call.chunks[-1].usage is not None
    content, tail = stream_call.chunks[:-2], stream_call.chunks[-2:]
    long_call = Captured(
        stream_call.instance, stream_call.args, stream_call.kwargs, stream_call.result
    )
    long_call.chunks = content * 4 + tail
    extra_chunks = len(long_call.chunks) - len(stream_call.chunks)
    rows: list[Row] = []
    notes: list[str] = []
    options = rounds_for(quick)
    chat_variants = [
        "minimal",
        "minimal+metrics",
        "same attrs",
        "same data",
        "llmtrace",
        "llmtrace+metrics",
    ]
    stream_variants = ["minimal", "same data", "llmtrace", "llmtrace+metrics"]
    event_loop = asyncio.new_event_loop()

    def async_loop(wrapper: Wrapper | None, captured: Captured) -> Callable[[int], None]:
        return async_stream_loop(wrapper, captured, event_loop)

    few, many = f"{CHUNKS + 1} chunks", f"{len(long_call.chunks)} chunks"
    # (scenario, call, variants, patch point, loop maker)
    plans = [
        ("chat sync", chat_call, chat_variants, SYNC_POINT, wrapper_loop),
        (f"stream sync, {few}", stream_call, stream_variants, SYNC_POINT, wrapper_loop),
        (f"stream sync, {many}", long_call, stream_variants, SYNC_POINT, wrapper_loop),
        (f"stream async, {few}", stream_call, stream_variants, ASYNC_POINT, async_loop),
        (f"stream async, {many}", long_call, stream_variants, ASYNC_POINT, async_loop),
    ]
    results: list[dict[str, float]] = []
    try:
        for scenario, captured, names, point, make_loop in plans:
            calls = Calls()
            before = exporter_counts(router.variants)
            loops = {"stub": calls.loop(router, "bare", make_loop(None, captured))}
            for name in names:
                wrapper = router.variants[name].wrappers[point]
                loops[name] = calls.loop(router, name, make_loop(wrapper, captured))
            stats = compare(loops, "minimal", **options)
            notes += [f"{scenario} wrapper only: {p}" for p in calls.check(router.variants, before)]
            results.append({name: added(stats, name, "stub") for name in names})
            for name in names:
                mine = results[-1][name]
                row = Row(f"{scenario} (wrapper only)", name, mine, mine / results[-1]["minimal"])
                row.baseline = "minimal"
                row.extra = {"calls": stats[name].calls, "stub_us": stats["stub"].us}
                rows.append(row)
    finally:
        event_loop.run_until_complete(event_loop.shutdown_asyncgens())
        event_loop.close()
    chat, short, long, async_short, async_long = results
    recorded = {"chat": chat_call, "stream": stream_call}
    for floor in ("same attrs", "same data"):
        calls = recorded if floor == "same data" else {"chat": chat_call}
        notes += [f"wrapper only: {p}" for p in attribute_differences(router, calls, floor)]
    per_stream_pairs = {plans[1][0]: (short, long), plans[3][0]: (async_short, async_long)}
    for row in rows:
        name = row.variant
        if row.scenario.startswith("chat"):
            if name == "llmtrace":
                row.target, row.ok = "<=1.3x", (row.ratio or 0) <= 1.3
                row.note = f"{chat[name] / chat['same attrs']:.2f}x same attrs"
            elif name == "llmtrace+metrics":
                row.target = "<=1.2x same data"
                row.ok = chat[name] <= 1.2 * chat["same data"]
                row.note = (
                    f"{chat[name] / chat['same data']:.2f}x same data, "
                    f"{chat[name] / chat['minimal+metrics']:.2f}x minimal+metrics"
                )
            continue
        for prefix, (shorter, longer) in per_stream_pairs.items():
            if row.scenario.startswith(prefix):
                per_chunk = (longer[name] - shorter[name]) / extra_chunks
                row.extra["per_chunk_us"] = per_chunk
                fixed = shorter[name] - per_chunk * (CHUNKS + 1)
                row.note = f"per chunk {per_chunk * 1000:.0f} ns, per stream {fixed:.1f} µs"
                if name == "llmtrace" and prefix == plans[1][0]:
                    row.target, row.ok = "<=1.8x", (row.ratio or 0) <= 1.8
                if name == "llmtrace+metrics":
                    ratio = shorter[name] / shorter["same data"]
                    row.target, row.ok = "<=1.2x same data", ratio <= 1.2
                    row.note += f", {ratio:.2f}x same data"
    return rows, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    env = setup()
    try:
        rows, notes = end_to_end(env, args.quick)
        more, more_notes = wrapper_only(env, args.quick)
    finally:
        env.close()
    rows += more
    notes += more_notes
    print(table(rows))
    print()
    exported = {name: exporter.count for name, exporter in env.exporters.items()}
    print(f"spans exported: floors {exported['floor']:,}, llmtrace {exported['llmtrace']:,}")
    for note in notes:
        print(f"PROBLEM: {note}")
    if args.json:
        dump(rows, args.json)


if __name__ == "__main__":
    main()
