"""Scenario 7: memory stays flat over many traced calls.

    python bench/bench_memory.py [--quick] [--json out.json]

Each workload runs in a fresh interpreter with llmtrace on (capture on, spans
into a counting no-op exporter). After a warm-up, ``tracemalloc`` measures
the Python heap at checkpoints; the figure is the growth from the first
checkpoint to the last, per call, plus the peak RSS of the process. Flat
means the growth is a few bytes per call at most (noise, caches settling),
not a per-call leak: a leak of one span would be about 2 KB per call. The
OpenAI stream workload (present when bench_openai.py is) is followed by RSS
and the count of live objects instead, as tracemalloc would slow it tenfold.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Row, dump, load, table

FLAT_BYTES_PER_CALL = 8.0
# RSS moves in pages and with the allocator's moods; a leaked span would still be > 1 KB/call.
FLAT_RSS_BYTES_PER_CALL = 64.0
CHECKPOINTS = 5


def _rss_kb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _workloads() -> dict[str, Callable[[int], None]]:
    import llmtrace

    @llmtrace.trace(capture_input=True, capture_output=True)
    def work(question: str, k: int = 3) -> dict[str, object]:
        return {"answer": question.upper(), "k": k}

    @llmtrace.trace(kind="workflow")
    def outer(question: str) -> object:
        return work(question)

    @llmtrace.trace(capture_output=True)
    def numbers(n: int):  # type: ignore[no-untyped-def]
        yield from range(n)

    @llmtrace.trace(capture_input=True, capture_output=True)
    async def awork(question: str) -> str:
        return question

    def sync_calls(n: int) -> None:
        with llmtrace.session(session_id="s-1", user_id="u-1", tags=["bench"]):
            for i in range(n):
                work("what is the answer?", i)

    def nested(n: int) -> None:
        for _ in range(n // 2):
            outer("q")

    def generators(n: int) -> None:
        for i in range(n):
            gen = numbers(5)
            if i % 2:
                next(gen)
                gen.close()  # early close must end the span too
            else:
                sum(gen)

    def async_calls(n: int) -> None:
        async def main() -> None:
            for _ in range(n):
                await awork("q")

        asyncio.run(main())

    def manual_spans(n: int) -> None:
        for i in range(n):
            with llmtrace.span("step", kind="tool", capture_content=True) as s:
                s.set_input({"i": i})
                s.set_output(i)

    workloads = {
        "decorated sync (session)": sync_calls,
        "nested decorated": nested,
        "generator (half closed early)": generators,
        "async": async_calls,
        "span() blocks": manual_spans,
    }
    stream = _openai_stream_workload()
    if stream is not None:
        workloads[OPENAI_STREAM] = stream
    return workloads


OPENAI_STREAM = "openai streams (50 chunks)"


def _openai_stream_workload() -> Callable[[int], None] | None:
    """Streamed chat calls through bench_openai.py's mock transport, when it is there."""
    if not (Path(__file__).parent / "bench_openai.py").exists():
        return None
    try:
        import bench_openai

        from llmtrace.instrumentation.openai import instrument_openai
    except ImportError:
        return None
    client = bench_openai._clients()[0]
    instrument_openai()

    def streams(n: int) -> None:
        for i in range(n):
            stream = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=bench_openai.MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
            if i % 4 == 3:  # some consumers stop early and close the stream
                next(iter(stream))
                stream.close()
            else:
                for _ in stream:
                    pass

    return streams


def _measure(name: str, calls: int) -> Row:
    from _otel import install_llmtrace

    from llmtrace import _rollup

    setup = install_llmtrace()
    workload = _workloads()[name]
    # tracemalloc slows each allocation down; the OpenAI client allocates a lot per
    # call, so its streams are followed by RSS and live-object counts instead.
    traced = name != OPENAI_STREAM
    workload(min(calls // 10, 5000))  # warm caches before measuring
    gc.collect()
    if traced:
        tracemalloc.start()
    heap, objects = [], []
    step = calls // CHECKPOINTS
    spans_before = setup.exporter.count
    for _ in range(CHECKPOINTS):
        workload(step)
        gc.collect()
        heap.append(tracemalloc.get_traced_memory()[0] if traced else _rss_kb() * 1024)
        objects.append(len(gc.get_objects()))
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    tracemalloc.stop()
    done = step * CHECKPOINTS
    # Growth between the first and last checkpoint: the first absorbs one-off caches.
    per_call = (heap[-1] - heap[0]) / max(1, done - step)
    objects_per_call = (objects[-1] - objects[0]) / max(1, done - step)
    limit = FLAT_BYTES_PER_CALL if traced else FLAT_RSS_BYTES_PER_CALL
    row = Row("7 memory", name, None)
    row.target = f"<{limit:g} B/call"
    row.ok = per_call < limit and objects_per_call < 0.01 and _rollup.open_entries() == 0
    row.extra = {
        "calls": done,
        "measure": "tracemalloc" if traced else "rss",
        "checkpoints_kb": [round(h / 1024, 1) for h in heap],
        "live_objects": objects,
        "growth_bytes_per_call": per_call,
        "tracemalloc_peak_kb": peak // 1024,
        "rss_kb": _rss_kb(),
        "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "spans_exported": setup.exporter.count - spans_before,
        "rollup_open_entries": _rollup.open_entries(),
    }
    what = "heap" if traced else "RSS"
    row.note = (
        f"{done:,} calls: {what} {' -> '.join(f'{h / 1024:.0f}' for h in heap)} KB "
        f"({per_call:+.2f} B/call), live objects {objects[0]:,} -> {objects[-1]:,}, "
        + (f"tracemalloc peak {peak // 1024} KB, " if traced else "")
        + f"max RSS {row.extra['max_rss_kb'] // 1024} MB, "
        f"{row.extra['spans_exported']:,} spans exported"
    )
    return row


def _child(name: str, calls: int, out: str) -> None:
    dump([_measure(name, calls)], out)


def run(quick: bool) -> list[Row]:
    base = 20_000 if quick else 100_000
    sizes = {
        "decorated sync (session)": base,
        "nested decorated": base,
        "generator (half closed early)": base // 5,
        "async": base // 5,
        "span() blocks": base // 5,
    }
    rows = []
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"llmtrace-bench-mem-{os.getpid()}.json"
    if (Path(__file__).parent / "bench_openai.py").exists():
        sizes[OPENAI_STREAM] = base // 10
    for name, calls in sizes.items():
        cmd = [sys.executable, __file__, "--child", name, "--calls", str(calls), "--json", str(out)]
        subprocess.run(cmd, check=True)
        rows.extend(load(str(out)))
    out.unlink(missing_ok=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--calls", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.calls, args.json)
        return
    rows = run(args.quick)
    print(table(rows))
    if args.json:
        dump(rows, args.json)


if __name__ == "__main__":
    main()
