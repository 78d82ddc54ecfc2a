"""Scenarios 1 and 2: what ``@llmtrace.trace`` costs per call, against hand-written floors.

    python bench/bench_decorator.py [--quick] [--json out.json]

Variants, all measured interleaved in one process:

- ``bare``: the undecorated function.
- ``span``: ``tracer.start_as_current_span`` around it (the floor for capture off).
- ``span+json``: the same span plus ``json.dumps`` of the arguments and of the
  result into two attributes (the floor for capture on).
- ``trace_off`` / ``trace_on``: ``@llmtrace.trace`` with content capture off / on.

Scenario 1 decorates ``f(x) = x + 1``; scenario 2 a function taking a 2 KB
prompt and 10 parameters and returning a 4 KB string. With the default 2 KB
attribute budget llmtrace truncates those payloads (valid JSON, marked);
``trace_on_16k`` raises the budget so it serialises them whole, like the floor.
Scenario 3 captures values over the budget in small/large pairs of one shape (a 1k and
a 1M-item list, dict and numpy array; a 32x32 and a 3000x3000 RGB image): the cost
must follow the budget, so each large one is targeted at <=1.5x its small one.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Loop, Row, compare, dump, rounds_for, stat_rows, table
from _otel import install_llmtrace, plain_provider, uninstall_llmtrace

import llmtrace
from llmtrace._runtime import runtime

KIND = "llmtrace.span.kind"
PROMPT = ("You are a helpful assistant. Answer the user's question precisely. " * 40)[:2048]
OUTPUT = ("The answer, in detail, with references and a worked example. " * 80)[:4096]
PARAMS: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "temperature": 0.2,
    "max_tokens": 512,
    "top_p": 0.95,
    "frequency_penalty": 0.0,
    "presence_penalty": 0.1,
    "stop": ["\n\n", "END"],
    "seed": 42,
    "user": "user-1234",
    "stream": False,
}

# Scenario 3's variants (see _loops_large).
_LARGE_VARIANTS = (
    "trace_on list 1k ints",
    "trace_on list 1M ints",
    "trace_on dict 1k keys",
    "trace_on dict 1M keys",
    "trace_on numpy 1k",
    "trace_on numpy 1M",
    "trace_on image 32x32 RGB",
    "trace_on image 3000x3000 RGB",
)
# Variants whose spans go to llmtrace's provider (the rest use the plain one).
_EXPORTED_BY_OURS = (
    "trace_off",
    "trace_on",
    "trace_on_16k",
    *_LARGE_VARIANTS,
    "+ session processor",
    "+ attach/detach",
)
TARGETS = {
    "trace_on": ("<=1.0x span+json", "span+json", 1.0),
    "trace_off": ("<=1.2x span", "span", 1.2),
}


def f(x: int) -> int:
    return x + 1


def generate(
    prompt: str,
    model: str,
    temperature: float,
    max_tokens: int,
    top_p: float,
    frequency_penalty: float,
    presence_penalty: float,
    stop: list[str],
    seed: int,
    user: str,
    stream: bool,
) -> str:
    return OUTPUT


def _counted(loop: Loop, counter: list[int]) -> Loop:
    def run(n: int) -> object:
        counter[0] += n
        return loop(n)

    return run


def _loops_trivial(tracer: Any) -> dict[str, Loop]:
    def span_f(x: int) -> int:
        with tracer.start_as_current_span("f"):
            return f(x)

    def span_json_f(x: int) -> int:
        with tracer.start_as_current_span("f") as s:
            s.set_attribute("input", json.dumps({"x": x}))
            result = f(x)
            s.set_attribute("output", json.dumps(result))
            return result

    off = llmtrace.trace(name="f", capture_input=False, capture_output=False)(f)
    on = llmtrace.trace(name="f", capture_input=True, capture_output=True)(f)
    funcs: dict[str, Callable[[int], int]] = {
        "bare": f,
        "span": span_f,
        "span+json": span_json_f,
        "trace_off": off,
        "trace_on": on,
    }

    return _loops_calling(funcs)


def _loops_calling(funcs: dict[str, Callable[[int], int]]) -> dict[str, Loop]:
    """A loop per variant: ``n`` calls of ``func(1)``."""

    def loop_of(func: Callable[[int], int]) -> Loop:
        def run(n: int) -> object:
            for _ in repeat(None, n):
                func(1)
            return None

        return run

    return {name: loop_of(func) for name, func in funcs.items()}


def _loops_anatomy(tracer: Any) -> dict[str, Loop]:
    """Where the capture-off time goes: the SDK work llmtrace's span needs, step by step."""
    from opentelemetry import context as otel_context
    from opentelemetry import trace as otel_trace

    ours = runtime.tracer()

    def span_f(x: int) -> int:
        with tracer.start_as_current_span("f"):
            return f(x)

    def sdk_span(x: int) -> int:
        span = tracer.start_span("f")
        result = f(x)
        span.end()
        return result

    # llmtrace writes the kind when the span ends (one set_attribute, no start attributes).
    def with_attribute(x: int) -> int:
        span = tracer.start_span("f")
        result = f(x)
        span.set_attribute(KIND, "task")
        span.end()
        return result

    def with_processor(x: int) -> int:
        span = ours.start_span("f")  # type: ignore[union-attr]
        result = f(x)
        span.set_attribute(KIND, "task")
        span.end()
        return result

    def with_attach(x: int) -> int:
        span = ours.start_span("f")  # type: ignore[union-attr]
        token = otel_context.attach(otel_trace.set_span_in_context(span))
        result = f(x)
        otel_context.detach(token)
        span.set_attribute(KIND, "task")
        span.end()
        return result

    funcs: dict[str, Callable[[int], int]] = {
        "span": span_f,
        "sdk start+end": sdk_span,
        "+ kind attribute at end": with_attribute,
        "+ session processor": with_processor,
        "+ attach/detach": with_attach,
        "trace_off": llmtrace.trace(name="f", capture_input=False, capture_output=False)(f),
    }

    return _loops_calling(funcs)


def _loops_payload(tracer: Any) -> dict[str, Loop]:
    def span_g(prompt: str, **params: Any) -> str:
        with tracer.start_as_current_span("generate"):
            return generate(prompt, **params)

    def span_json_g(prompt: str, **params: Any) -> str:
        with tracer.start_as_current_span("generate") as s:
            s.set_attribute("input", json.dumps({"prompt": prompt, **params}))
            result = generate(prompt, **params)
            s.set_attribute("output", json.dumps(result))
            return result

    off = llmtrace.trace(name="generate", capture_input=False, capture_output=False)(generate)
    on = llmtrace.trace(name="generate", capture_input=True, capture_output=True)(generate)
    funcs: dict[str, Callable[..., str]] = {
        "bare": generate,
        "span": span_g,
        "span+json": span_json_g,
        "trace_off": off,
        "trace_on": on,
    }

    def loop_of(func: Callable[..., str]) -> Loop:
        def run(n: int) -> object:
            prompt, params = PROMPT, PARAMS
            for _ in repeat(None, n):
                func(prompt, **params)
            return None

        return run

    loops = {name: loop_of(func) for name, func in funcs.items()}
    big = llmtrace.trace(name="generate", capture_input=True, capture_output=True)(generate)
    loops["trace_on_16k"] = _with_budget(loop_of(big), 16 * 1024)
    return loops


def _loops_large(tracer: Any) -> dict[str, Loop]:
    """Scenario 3: values over the 2 KB budget, each small/large pair of the same shape.

    The large one is 1,000 times the small one (or more); both are cut to the budget, so
    the cost must follow the budget, not the value: the pair's ratio stays near 1.
    """
    values: dict[str, Any] = {
        "list 1k ints": list(range(1_000)),
        "list 1M ints": list(range(1_000_000)),
        "dict 1k keys": {f"k{i}": i for i in range(1_000)},
        "dict 1M keys": {f"k{i}": i for i in range(1_000_000)},
    }
    try:
        import numpy as np

        values["numpy 1k"] = np.arange(1_000)
        values["numpy 1M"] = np.arange(1_000_000)
        values["image 32x32 RGB"] = np.zeros((32, 32, 3), dtype=np.uint8)
        values["image 3000x3000 RGB"] = np.zeros((3000, 3000, 3), dtype=np.uint8)
    except ImportError:
        pass

    def echo(x: Any) -> Any:
        return x

    traced = llmtrace.trace(name="f", capture_input=True, capture_output=True)(echo)

    def loop_of(value: Any) -> Loop:
        def run(n: int) -> object:
            for _ in repeat(None, n):
                traced(value)
            return None

        return run

    loops = {"span": _loops_trivial(tracer)["span"]}
    loops.update({f"trace_on {name}": loop_of(value) for name, value in values.items()})
    return loops


LARGE_TARGETS = {
    f"trace_on {large}": ("<=1.5x small", f"trace_on {small}", 1.5)
    for small, large in (
        ("list 1k ints", "list 1M ints"),
        ("dict 1k keys", "dict 1M keys"),
        ("numpy 1k", "numpy 1M"),
        ("image 32x32 RGB", "image 3000x3000 RGB"),
    )
}


def _with_budget(loop: Loop, max_bytes: int) -> Loop:
    def run(n: int) -> object:
        saved, runtime.max_attribute_bytes = runtime.max_attribute_bytes, max_bytes
        try:
            return loop(n)
        finally:
            runtime.max_attribute_bytes = saved

    return run


def check_output() -> None:
    """Fail loudly if a variant stopped recording what it claims to (a bench of nothing)."""
    from llmtrace.testing import capture_spans

    on = llmtrace.trace(name="generate", capture_input=True, capture_output=True)(generate)
    with capture_spans() as cap:
        on(PROMPT, **PARAMS)
    attrs = cap.find("generate").attributes or {}
    out = attrs.get("llmtrace.output")
    inp = attrs.get("llmtrace.input")
    assert isinstance(out, str) and out.startswith('"The answer'), out
    assert isinstance(inp, str) and '"seed":42' in inp, inp


def run(quick: bool) -> list[Row]:
    check_output()
    base = plain_provider()
    ours = install_llmtrace()
    tracer = base.provider.get_tracer("bench")
    rows: list[Row] = []
    try:
        for scenario, make, targets in (
            ("1 trivial f(x)", _loops_trivial, TARGETS),
            ("1b where capture-off time goes", _loops_anatomy, None),
            ("2 payload 2K/4K", _loops_payload, TARGETS),
            ("3 values far over the budget", _loops_large, LARGE_TARGETS),
        ):
            counter = [0]
            loops = make(tracer)
            for name in _EXPORTED_BY_OURS:
                if name in loops:
                    loops[name] = _counted(loops[name], counter)
            before = ours.exporter.count
            stats = compare(loops, "span", **rounds_for(quick))
            scenario_rows = stat_rows(scenario, stats, "span", targets)
            exported = ours.exporter.count - before
            scenario_rows[-1].extra["spans_exported"] = exported
            scenario_rows[-1].extra["spans_expected"] = counter[0]
            if exported != counter[0]:
                scenario_rows[-1].note = f"exported {exported} of {counter[0]} spans"
            rows.extend(scenario_rows)
    finally:
        uninstall_llmtrace()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    rows = run(args.quick)
    print(table(rows))
    if args.json:
        dump(rows, args.json)


if __name__ == "__main__":
    main()
