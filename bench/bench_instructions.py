"""What the OpenAI wrapper executes per call, counted by valgrind: the noise-free view.

    python bench/bench_instructions.py [--calls 300] [--scenario chat] [--json out.json]

The time figures of ``bench_openai.py`` move by ±10% from run to run on a shared
2-core machine, more than most changes to the wrapper. Cachegrind counts what the
CPU executes (instructions) and the first-level cache misses it causes, and those
counts repeat from run to run (the hash seed is fixed) to a few thousandths. Use them
to tell whether a change to the hot path made it do less; use ``bench_openai.py`` for
what that is worth in time (cache misses and mispredicted branches weigh more there).

Each variant of ``bench_openai.py``'s wrapper-only measurement (``stub``: no wrapper;
``same data``: the hand-written floor; ``llmtrace+metrics``) runs in a process of its
own under ``valgrind --tool=cachegrind``, twice: ``calls`` and ``3 * calls`` calls after
a warm-up. The difference divided by ``2 * calls`` is per call, so imports and setup
cancel out. Reported per call, added over ``stub``: instructions, I1 and D1 misses,
and the ratio of llmtrace's added instructions to the floor's. Several minutes;
skipped with a message when valgrind is not installed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Row, dump, table

VARIANTS = ("stub", "same data", "llmtrace+metrics")
SCENARIOS = ("chat", "stream")
_COUNTS = {"I   refs": "instructions", "I1  misses": "I1 misses", "D1  misses": "D1 misses"}


def child(scenario: str, variant: str, calls: int) -> None:
    """Runs under valgrind: ``calls`` wrapper-only calls of ``variant`` after a warm-up."""
    from _openai_fixture import MESSAGES, SYNC_POINT, capture, clients, setup, wrapper_loop

    env = setup()
    try:
        env.router.use("bare")
        sync, _ = clients()
        stream = scenario == "stream"
        captured = capture(
            SYNC_POINT,
            lambda: sync.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=stream
            ),
        )
        wrapper = None if variant == "stub" else env.router.variants[variant].wrappers[SYNC_POINT]
        loop = wrapper_loop(wrapper, captured)
        env.router.use("bare" if variant == "stub" else variant)
        loop(300)
        loop(calls)
    finally:
        env.close()


def _counts(scenario: str, variant: str, calls: int) -> dict[str, int]:
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=yes",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--child",
        scenario,
        variant,
        str(calls),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    found = {}
    for line in done.stderr.splitlines():
        for label, name in _COUNTS.items():
            match = re.search(re.escape(label) + r":\s*([\d,]+)", line)
            if match:
                found[name] = int(match.group(1).replace(",", ""))
    if len(found) != len(_COUNTS):
        raise RuntimeError(
            f"no cachegrind summary for {scenario}/{variant}:\n{done.stderr[-2000:]}"
        )
    return found


def per_call(scenario: str, variant: str, calls: int) -> dict[str, float]:
    """Per-call counts: the difference between ``3 * calls`` and ``calls`` calls."""
    with ThreadPoolExecutor(2) as pool:
        few, many = pool.map(lambda n: _counts(scenario, variant, n), (calls, 3 * calls))
    return {name: (many[name] - few[name]) / (2 * calls) for name in few}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per measured run")
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="default: all")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        scenario, variant, calls = args.child
        child(scenario, variant, int(calls))
        return
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: nothing measured (apt install valgrind)")
        return
    rows = []
    for scenario in args.scenario or SCENARIOS:
        counts = {variant: per_call(scenario, variant, args.calls) for variant in VARIANTS}
        stub = counts["stub"]
        added = {
            variant: {name: value - stub[name] for name, value in counts[variant].items()}
            for variant in VARIANTS[1:]
        }
        for variant, figures in added.items():
            floor = added["same data"]
            row = Row(f"{scenario} sync (wrapper only, instructions)", variant, None)
            row.ratio = figures["instructions"] / floor["instructions"]
            row.baseline = "same data"
            row.note = ", ".join(
                f"{name} +{value:,.0f} ({value / floor[name]:.2f}x)"
                for name, value in figures.items()
            )
            row.extra = {"added": figures, "stub": stub}
            rows.append(row)
    print(table(rows))
    if args.json:
        dump(rows, args.json)


if __name__ == "__main__":
    main()
