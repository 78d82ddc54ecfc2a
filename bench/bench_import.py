"""Scenario 6: the cost of ``import llmtrace`` in a fresh interpreter.

    python bench/bench_import.py [--quick] [--json out.json]

Each sample is a new interpreter that times only the import statement (not
interpreter start-up). Variants alternate run by run, so machine noise hits
them alike; the figure is the median. The baseline is
``import opentelemetry.sdk.trace``, the least any OpenTelemetry SDK user pays.
A ``-X importtime`` run then lists the costliest modules, and a check of
``sys.modules`` shows which heavy optional libraries were (wrongly) imported.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Row, dump, table

HEAVY = ("openai", "langchain_core", "tiktoken", "genai_prices", "pydantic", "asyncio")
# asyncio is not forbidden, but it is the largest stdlib import and worth seeing.
FORBIDDEN = ("openai", "langchain_core", "tiktoken", "genai_prices", "pydantic")
TARGET_MS = 50.0

# CPU time of the importing process (wall time with LLMTRACE_BENCH_CLOCK=wall): on a
# shared machine, time spent waiting for a CPU is not import cost.
_TIMER = """
import sys, time
clock = time.perf_counter if {wall!r} else time.process_time
t0, w0 = clock(), time.perf_counter()
{stmt}
t1, w1 = clock(), time.perf_counter()
import json
print(json.dumps({{"ms": (t1 - t0) * 1000, "wall_ms": (w1 - w0) * 1000,
    "modules": len(sys.modules), "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""

VARIANTS = {
    "otel sdk": "import opentelemetry.sdk.trace",
    "import llmtrace": "import llmtrace",
    "+ first @trace": ("import llmtrace\n@llmtrace.trace\ndef f(x):\n    return x\nf(1)"),
    "+ init()": ("import llmtrace\nllmtrace.init(console=False, instrument=False, metrics=False)"),
}


def _env() -> dict[str, str]:
    # An installed package has its bytecode compiled; a checkout run with
    # PYTHONDONTWRITEBYTECODE would recompile llmtrace on every import. Cache
    # bytecode outside the tree instead (the first, uncounted pass fills it).
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(os.environ.get("TMPDIR", "/tmp")) / "llmtrace-bench-pyc")
    return env


def _sample(stmt: str) -> dict[str, object]:
    wall = os.environ.get("LLMTRACE_BENCH_CLOCK") == "wall"
    code = _TIMER.format(stmt=stmt, heavy=HEAVY, wall=wall)
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=_env()
    ).stdout
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def importtime(stmt: str, top: int = 12) -> tuple[list[tuple[str, float, float]], dict[str, float]]:
    """``-X importtime``: the costliest modules by self time, and self time per top package."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", stmt],
        check=True,
        capture_output=True,
        text=True,
        env=_env(),
    ).stderr
    modules = []
    packages: collections.Counter[str] = collections.Counter()
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
        if m:
            self_us, cumulative_us, name = int(m[1]), int(m[2]), m[3]
            modules.append((name, self_us / 1000, cumulative_us / 1000))
            packages[name.split(".")[0]] += self_us / 1000
    modules.sort(key=lambda item: -item[1])
    return modules[:top], dict(packages.most_common(top))


def run(quick: bool) -> list[Row]:
    runs = 7 if quick else 21
    samples: dict[str, list[dict[str, object]]] = {name: [] for name in VARIANTS}
    names = list(VARIANTS)
    for i in range(runs + 1):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            sample = _sample(VARIANTS[name])
            if i:  # the first pass warms the file cache and writes .pyc files
                samples[name].append(sample)
    rows = []
    base = statistics.median(float(s["ms"]) for s in samples["otel sdk"])  # type: ignore[arg-type]
    for name in names:
        ms = statistics.median(float(s["ms"]) for s in samples[name])  # type: ignore[arg-type]
        heavy = sorted({m for s in samples[name] for m in s["heavy"]})  # type: ignore[attr-defined]
        row = Row("6 import", name, ms * 1000, ms / base, "otel sdk")
        wall_ms = statistics.median(float(s["wall_ms"]) for s in samples[name])  # type: ignore[arg-type]
        row.extra = {
            "ms": ms,
            "wall_ms": wall_ms,
            "modules": samples[name][0]["modules"],
            "heavy_imported": heavy,
        }
        if name == "import llmtrace":
            row.target = f"<{TARGET_MS:g} ms"
            row.ok = ms < TARGET_MS and not set(heavy) & set(FORBIDDEN)
            row.note = (
                f"{samples[name][0]['modules']} modules; heavy modules imported: "
                f"{', '.join(heavy) or 'none'} (forbidden: {', '.join(FORBIDDEN)})"
            )
        elif name != "otel sdk":
            row.note = f"heavy modules imported: {', '.join(heavy) or 'none'}"
        rows.append(row)
    top, packages = importtime("import llmtrace")
    rows[1].extra["importtime_top_modules"] = top
    rows[1].extra["importtime_by_package"] = packages
    return rows


def report(rows: list[Row]) -> str:
    """The import breakdown that goes under the table."""
    extra = next(r.extra for r in rows if r.variant == "import llmtrace")
    lines = ["import llmtrace, -X importtime (one run; self ms, cumulative ms):"]
    for name, self_ms, cumulative_ms in extra.get("importtime_top_modules", []):
        lines.append(f"  {name:45s} {self_ms:6.1f} {cumulative_ms:7.1f}")
    lines.append("self time by top-level package (ms):")
    for name, ms in extra.get("importtime_by_package", {}).items():
        lines.append(f"  {name:45s} {ms:6.1f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = run(args.quick)
    print(table(rows))
    print()
    print(report(rows))
    if args.json:
        dump(rows, args.json)


if __name__ == "__main__":
    main()
