"""Scenario 5: what ``@llmtrace.trace`` costs when nothing is traced.

    python bench/bench_off.py [--quick] [--json out.json]

- ``no init``: decorated, but ``llmtrace.init()`` never called and no global
  TracerProvider: the decorator must be close to free (target < 1 µs a call).
- ``OTEL_SDK_DISABLED``: a child interpreter with ``OTEL_SDK_DISABLED=true``
  that calls ``llmtrace.init()`` as an application would.
- ``suppressed``: tracing on, inside OpenTelemetry's ``suppress_instrumentation()``.
- ``sampled out``: tracing on with ``sample_rate=0`` (the SDK makes a non-recording span).

Each is compared with the undecorated call measured in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from itertools import repeat
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Loop, Row, compare, dump, load, rounds_for, table

TARGET_US = 1.0


def f(x: int) -> int:
    return x + 1


def _loop(func: object) -> Loop:
    call = func

    def run(n: int) -> object:
        for _ in repeat(None, n):
            call(1)  # type: ignore[operator]
        return None

    return run


def _rows(scenario: str, quick: bool, variant: str, loop: Loop, target: bool) -> list[Row]:
    stats = compare(
        {"bare": _loop(f), variant: loop},
        "bare",
        **rounds_for(quick),
    )
    ours = stats[variant]
    overhead = ours.us - stats["bare"].us
    row = Row(scenario, variant, ours.us, ours.ratio, "bare")
    row.extra = {"overhead_us": overhead, "bare_us": stats["bare"].us}
    if target:
        row.target = f"<{TARGET_US:g} µs/call"
        row.ok = ours.us < TARGET_US
    row.note = f"{overhead * 1000:.0f} ns over the bare call ({stats['bare'].us * 1000:.0f} ns)"
    return [row]


def _child(mode: str, quick: bool) -> list[Row]:
    import llmtrace

    if mode == "disabled":
        llmtrace.init(console=False, instrument=False, metrics=False)
        return _rows("5 tracing off", quick, "OTEL_SDK_DISABLED", _loop(llmtrace.trace(f)), True)
    raise SystemExit(f"unknown child mode {mode}")


def _in_child(mode: str, quick: bool, env: dict[str, str]) -> list[Row]:
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"llmtrace-bench-off-{os.getpid()}.json"
    cmd = [sys.executable, __file__, "--child", mode, "--json", str(out)]
    if quick:
        cmd.append("--quick")
    subprocess.run(cmd, check=True, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    try:
        return load(str(out))
    finally:
        out.unlink(missing_ok=True)


def run(quick: bool) -> list[Row]:
    # Must run before anything installs a provider in this process.
    from opentelemetry import trace as otel_trace
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    import llmtrace
    from llmtrace._runtime import runtime

    assert not isinstance(
        otel_trace.get_tracer_provider(),
        __import__("opentelemetry.sdk.trace", fromlist=["TracerProvider"]).TracerProvider,
    ), "bench_off must run in a fresh process"
    assert runtime.tracer() is None
    rows = _rows("5 tracing off", quick, "no init()", _loop(llmtrace.trace(f)), True)
    rows += _in_child("disabled", quick, {"OTEL_SDK_DISABLED": "true"})

    from _otel import install_llmtrace, uninstall_llmtrace

    install_llmtrace()
    traced = llmtrace.trace(f)
    inner = _loop(traced)

    def suppressed(n: int) -> object:
        with suppress_instrumentation():
            return inner(n)

    rows += _rows("5 tracing off", quick, "suppressed", suppressed, False)
    uninstall_llmtrace()

    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from llmtrace.testing import capture_spans

    with capture_spans(sampler=ALWAYS_OFF) as cap:
        rows += _rows("5 tracing off", quick, "sampled out", _loop(traced), False)
        assert not cap.spans
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = _child(args.child, args.quick) if args.child else run(args.quick)
    if args.json:
        dump(rows, args.json)
    if not args.child:
        print(table(rows))
    else:
        json.dumps([r.variant for r in rows])


if __name__ == "__main__":
    main()
