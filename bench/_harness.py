"""Timing harness shared by the benchmarks: interleaved rounds, medians, ratios.

    loops = {"bare": bare_loop, "span": span_loop, "ours": ours_loop}   # each: loop(n) -> None
    stats = compare(loops, baseline="span", rounds=15)
    stats["ours"].ratio     # median over rounds of ours/span measured in the same round
    stats["ours"].us        # median microseconds per call

Every variant runs once per round, in an order rotated each round, so slow
drifts of a noisy machine (2 cores, other work) hit all variants alike. The
ratio of a variant is the median of its per-round ratios against the baseline
of the same round, which cancels most of that drift. Time is the thread's CPU
time, not wall time, so moments when other processes hold the CPU do not
count (set LLMTRACE_BENCH_CLOCK=wall to use wall time instead).
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

Loop = Callable[[int], object]

clock_ns = (
    time.perf_counter_ns
    if os.environ.get("LLMTRACE_BENCH_CLOCK") == "wall"
    else time.thread_time_ns
)
clock_name = "wall" if clock_ns is time.perf_counter_ns else "thread CPU"


@dataclass
class Stat:
    """One variant's figures: median µs per call, median ratio to the baseline, spread."""

    us: float
    ratio: float
    ratio_low: float  # 25th percentile of the per-round ratios
    ratio_high: float  # 75th percentile
    calls: int  # calls per round
    samples: list[float] = field(default_factory=list, repr=False)  # ns per call, per round

    def ratio_to(self, other: Stat) -> float:
        """Median over rounds of this variant's time over ``other``'s in the same round."""
        return statistics.median(a / b for a, b in zip(self.samples, other.samples, strict=True))


@dataclass
class Row:
    """One line of the final report table."""

    scenario: str
    variant: str
    us: float | None
    ratio: float | None = None
    baseline: str = ""
    target: str = ""
    ok: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def rounds_for(quick: bool) -> dict[str, float]:
    """``compare()`` keyword arguments for a quick or a full run."""
    return {"rounds": 15, "sample_s": 0.01} if quick else {"rounds": 41, "sample_s": 0.02}


def calibrate(loop: Loop, sample_s: float) -> int:
    """How many calls make one sample last about ``sample_s`` seconds."""
    n = 1
    while True:
        t0 = clock_ns()
        loop(n)
        elapsed = (clock_ns() - t0) / 1e9
        if elapsed >= sample_s / 4 or n >= 10_000_000:
            return max(1, int(n * sample_s / max(elapsed, 1e-9)))
        n *= 4


def _quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def compare(
    loops: Mapping[str, Loop],
    baseline: str,
    *,
    rounds: int = 15,
    sample_s: float = 0.05,
    same_calls: bool = False,
) -> dict[str, Stat]:
    """Time every loop ``rounds`` times, interleaved, and compare each to ``baseline``.

    ``same_calls``: every variant makes as many calls per sample as the slowest
    (for slow calls, where a per-sample fixed cost must weigh the same on all).
    """
    names = list(loops)
    for name in names:  # a first call's one-off cost (imports, caches) must not fool calibrate
        loops[name](1)
    calls = {name: calibrate(loops[name], sample_s) for name in names}
    if same_calls:
        calls = dict.fromkeys(names, min(calls.values()))
    per_call: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up round, not counted
        loops[name](max(1, calls[name] // 4))
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        this_round: dict[str, float] = {}
        for name in order:
            n = calls[name]
            gc.collect()
            t0 = clock_ns()
            loops[name](n)
            this_round[name] = (clock_ns() - t0) / n
        for name in names:
            per_call[name].append(this_round[name])
            ratios[name].append(this_round[name] / this_round[baseline])
    stats = {}
    for name in names:
        low, high = _quartiles(ratios[name])
        stats[name] = Stat(
            us=statistics.median(per_call[name]) / 1000,
            ratio=statistics.median(ratios[name]),
            ratio_low=low,
            ratio_high=high,
            calls=calls[name],
            samples=per_call[name],
        )
    return stats


def fmt_us(us: float | None) -> str:
    if us is None:
        return "-"
    if us >= 1000:
        return f"{us / 1000:,.1f} ms"
    if us >= 10:
        return f"{us:,.1f} µs"
    return f"{us:,.3f} µs"


def table(rows: list[Row]) -> str:
    """The rows as a fixed-width text table."""
    header = ("scenario", "variant", "time", "ratio", "vs", "target", "ok")
    lines = []
    for row in rows:
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
        ok = "" if row.ok is None else ("yes" if row.ok else "NO")
        lines.append(
            (row.scenario, row.variant, fmt_us(row.us), ratio, row.baseline, row.target, ok)
        )
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]

    def render(cells: tuple[str, ...]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [render(header), render(tuple("-" * w for w in widths))]
    out.extend(render(line) for line in lines)
    notes = [f"  {row.scenario}/{row.variant}: {row.note}" for row in rows if row.note]
    if notes:
        out.append("")
        out.append("notes:")
        out.extend(notes)
    return "\n".join(out)


def dump(rows: list[Row], path: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump([asdict(r) for r in rows], fh, indent=2)


def load(path: str) -> list[Row]:
    with open(path, encoding="utf-8") as fh:
        return [Row(**item) for item in json.load(fh)]


def stat_rows(
    scenario: str,
    stats: Mapping[str, Stat],
    baseline: str,
    targets: Mapping[str, tuple[str, str, float]] | None = None,
) -> list[Row]:
    """Rows for ``compare()`` output; ``targets`` maps variant -> (label, against, max ratio)."""
    rows = []
    for name, stat in stats.items():
        row = Row(scenario, name, stat.us, stat.ratio, baseline)
        row.extra = {"ratio_iqr": [stat.ratio_low, stat.ratio_high], "calls": stat.calls}
        if targets and name in targets:
            label, against, limit = targets[name]
            ratio = stat.ratio_to(stats[against])
            row.target = label
            row.ok = ratio <= limit
            if against != baseline:
                row.note = f"{ratio:.2f}x {against} (target {label})"
        rows.append(row)
    return rows
