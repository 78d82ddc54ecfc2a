"""Run the whole llmtrace benchmark suite and print one table of ratios.

    python bench/run.py            # full run (several minutes on 2 cores)
    python bench/run.py --quick    # fewer, shorter rounds (about a minute)
    python bench/run.py --only decorator,off --json results.json

Each benchmark runs in its own interpreter, so no setup leaks from one into the
next (the tracing-off figures need a process where nothing was ever installed).
Every ratio compares variants measured interleaved in that same process. The
OpenAI and token benchmarks (``bench_openai.py``, ``bench_tokens.py``) are run
too when present, and their own output is printed after the table. See
docs/performance.md for what each figure means and the targets.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import Row, dump, load, table  # noqa: E402

# name -> script; a script whose --help offers --json writes rows for the table,
# any other has its own output printed after the table.
SUITE: dict[str, str] = {
    "decorator": "bench_decorator.py",
    "openai": "bench_openai.py",
    "off": "bench_off.py",
    "import": "bench_import.py",
    "memory": "bench_memory.py",
    "tokens": "bench_tokens.py",
    "burst": "bench_burst.py",
    "bedrock": "bench_bedrock.py",
}


BREAKDOWN = "import llmtrace, -X importtime"


def _supports(script: Path, flag: str) -> bool:
    try:
        out = subprocess.run(
            [sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired:
        return False
    return flag in out.stdout


def _run_ours(script: Path, quick: bool, python: str | None = None) -> tuple[list[Row], str]:
    env = None
    if python is not None:  # another environment: let it import this checkout's llmtrace
        src = str(HERE.parent / "src")
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])),
        }
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [python or sys.executable, str(script), "--json", str(out)]
        cmd += ["--quick"] if quick else []
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0 or not out.exists():
            return [], f"== {script.name} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
        text = proc.stdout
        # The breakdown printed under a benchmark's own table is worth keeping.
        marker = text.find(BREAKDOWN)
        extra = text[marker:] if marker >= 0 else ""
        return load(str(out)), extra


def _run_foreign(script: Path, quick: bool) -> str:
    cmd = [sys.executable, str(script)]
    if quick and _supports(script, "--quick"):
        cmd.append("--quick")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    status = "" if proc.returncode == 0 else f" (exit status {proc.returncode})"
    return f"== {script.name}{status}\n{proc.stdout}{proc.stderr if proc.returncode else ''}"


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the llmtrace benchmark suite.")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(SUITE)}")
    parser.add_argument("--json", help="write all of our rows to this file")
    parser.add_argument(
        "--peers",
        metavar="PYTHON",
        help="also run bench_peers.py with this interpreter (a venv with requirements-peers.txt)",
    )
    args = parser.parse_args()
    wanted = args.only.split(",") if args.only else list(SUITE)
    unknown = set(wanted) - set(SUITE)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")

    import opentelemetry.sdk.version

    import llmtrace

    print(
        f"llmtrace {llmtrace.__version__}, opentelemetry-sdk "
        f"{opentelemetry.sdk.version.__version__}, Python {platform.python_version()} "
        f"on {platform.machine()}, {os.cpu_count()} CPUs{' (quick)' if args.quick else ''}",
        flush=True,
    )
    rows: list[Row] = []
    extras: list[str] = []
    started = time.monotonic()
    for name in wanted:
        script_name = SUITE[name]
        script = HERE / script_name
        if not script.exists():
            extras.append(f"== {script_name}: not present, skipped")
            continue
        t0 = time.monotonic()
        print(f"running {script_name} ...", file=sys.stderr, flush=True)
        if _supports(script, "--json"):
            got, extra = _run_ours(script, args.quick)
            rows.extend(got)
            if extra:
                extras.append(extra)
        else:
            extras.append(_run_foreign(script, args.quick))
        print(f"  {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
    if args.peers:
        print("running bench_peers.py ...", file=sys.stderr, flush=True)
        got, extra = _run_ours(HERE / "bench_peers.py", args.quick, python=args.peers)
        rows.extend(got)
        if extra:
            extras.append(extra)
    print()
    print(table(rows))
    for extra in extras:
        print()
        print(extra.rstrip())
    missed = [r for r in rows if r.ok is False]
    print()
    print(
        f"{sum(r.ok is True for r in rows)} targets met, {len(missed)} missed "
        f"({time.monotonic() - started:.0f} s)"
    )
    if args.json:
        dump(rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
