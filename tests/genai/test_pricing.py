"""Cost: pinned to the published prices in genai-prices' snapshot, overrides, unknown models.

Expected values are computed by hand from the per-million prices in the bundled
genai-prices snapshot (quoted next to each case), not by calling the code under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import genai_prices
import pytest

import llmtrace
from llmtrace import semconv
from llmtrace._errors import ConfigurationError
from llmtrace._genai import pricing
from llmtrace._genai.pricing import Cost, cost_for, load_price_overrides
from llmtrace._genai.tokens import Usage, usage_from_anthropic
from llmtrace.testing import SpanCapture

M = 1_000_000


@pytest.fixture(autouse=True)
def _clean_prices() -> Iterator[None]:
    pricing.clear_price_overrides()
    yield
    pricing.clear_price_overrides()


def assert_cost(cost: Cost | None, input_usd: float, output_usd: float, source: str) -> None:
    assert cost is not None
    assert cost.input == pytest.approx(input_usd, rel=1e-12, abs=1e-15)
    assert cost.output == pytest.approx(output_usd, rel=1e-12, abs=1e-15)
    assert cost.total == pytest.approx(input_usd + output_usd, rel=1e-12, abs=1e-15)
    assert (cost.currency, cost.source) == ("USD", source)


# --- published prices -----------------------------------------------------------------------


def test_gpt_4o_with_cached_input() -> None:
    # gpt-4o: $2.50 input, $1.25 cached input, $10 output per 1M tokens
    usage = Usage(input_tokens=10_000, cache_read_input_tokens=4_000, output_tokens=2_000)
    cost = cost_for("openai", "gpt-4o-2024-08-06", usage)
    assert_cost(cost, 6_000 * 2.5 / M + 4_000 * 1.25 / M, 2_000 * 10 / M, "genai-prices")
    assert cost is not None and cost.total == pytest.approx(0.04)


def test_gpt_4o_mini_per_million() -> None:
    # gpt-4o-mini: $0.15 input, $0.60 output per 1M tokens
    assert_cost(
        cost_for("openai", "gpt-4o-mini", Usage(input_tokens=M, output_tokens=M)),
        0.15,
        0.60,
        "genai-prices",
    )


def test_o3_reasoning_tokens_are_billed_as_output() -> None:
    # o3 (since 2025-06-10): $2 input, $0.50 cached input, $8 output; no separate reasoning rate
    usage = Usage(
        input_tokens=5_000,
        cache_read_input_tokens=1_000,
        output_tokens=3_000,
        reasoning_output_tokens=2_500,
    )
    assert_cost(
        cost_for("openai", "o3", usage),
        4_000 * 2 / M + 1_000 * 0.5 / M,
        3_000 * 8 / M,
        "genai-prices",
    )


def test_o4_mini_with_reasoning() -> None:
    # o4-mini: $1.10 input, $4.40 output per 1M tokens
    usage = Usage(input_tokens=2_000, output_tokens=10_000, reasoning_output_tokens=8_000)
    assert_cost(
        cost_for("openai", "o4-mini", usage), 2_000 * 1.1 / M, 10_000 * 4.4 / M, "genai-prices"
    )


def test_o3_flex_service_tier() -> None:
    # o3 flex tier: $1 input, $0.25 cached input, $4 output per 1M tokens
    usage = Usage(input_tokens=1_000, output_tokens=1_000)
    assert_cost(
        cost_for("openai", "o3", usage, service_tier="flex"), 1_000 / M, 4_000 / M, "genai-prices"
    )


def test_claude_cache_read_and_write_at_their_own_rates() -> None:
    # claude-sonnet-4 (claude-sonnet-4-0): $3 input, $0.30 cache read, $3.75 cache write,
    # $15 output per 1M tokens. Anthropic's input_tokens exclude the cache tokens.
    usage = usage_from_anthropic(
        {
            "input_tokens": 100,
            "cache_read_input_tokens": 20_000,
            "cache_creation_input_tokens": 5_000,
            "output_tokens": 800,
        }
    )
    assert usage is not None and usage.input_tokens == 25_100
    assert_cost(
        cost_for("anthropic", "claude-sonnet-4-20250514", usage),
        100 * 3 / M + 20_000 * 0.3 / M + 5_000 * 3.75 / M,
        800 * 15 / M,
        "genai-prices",
    )


def test_claude_haiku_3_5_cache_write() -> None:
    # claude-3-5-haiku: $0.80 input, $0.08 cache read, $1 cache write, $4 output per 1M
    usage = Usage(
        input_tokens=3_000,
        cache_creation_input_tokens=2_000,
        cache_read_input_tokens=500,
        output_tokens=100,
    )
    assert_cost(
        cost_for("anthropic", "claude-3-5-haiku-20241022", usage),
        500 * 0.8 / M + 500 * 0.08 / M + 2_000 * 1 / M,
        100 * 4 / M,
        "genai-prices",
    )


def test_gpt_realtime_audio_tokens_at_their_own_rates() -> None:
    # gpt-realtime: $4 text input, $32 audio input, $16 text output, $64 audio output per 1M
    usage = Usage(
        input_tokens=10_000,
        input_audio_tokens=4_000,
        output_tokens=5_000,
        output_audio_tokens=3_000,
    )
    assert_cost(
        cost_for("openai", "gpt-realtime", usage),
        (6_000 * 4 + 4_000 * 32) / M,
        (2_000 * 16 + 3_000 * 64) / M,
        "genai-prices",
    )


def test_tiered_price_above_200k_input_tokens() -> None:
    # claude-sonnet-4-5: above 200k input tokens, $6 input and $22.50 output per 1M
    big = Usage(input_tokens=250_000, output_tokens=1_000)
    assert_cost(
        cost_for("anthropic", "claude-sonnet-4-5", big),
        250_000 * 6 / M,
        1_000 * 22.5 / M,
        "genai-prices",
    )
    small = Usage(input_tokens=100_000, output_tokens=1_000)
    assert_cost(
        cost_for("anthropic", "claude-sonnet-4-5", small),
        100_000 * 3 / M,
        1_000 * 15 / M,
        "genai-prices",
    )


def test_azure_openai_uses_openai_prices() -> None:
    usage = Usage(input_tokens=1_000, output_tokens=500)
    assert cost_for("azure.ai.openai", "gpt-4o-mini", usage) == cost_for(
        "openai", "gpt-4o-mini", usage
    )


def test_embeddings_have_input_cost_only() -> None:
    # text-embedding-3-small: $0.02 per 1M input tokens
    assert_cost(
        cost_for("openai", "text-embedding-3-small", Usage(input_tokens=50_000)),
        50_000 * 0.02 / M,
        0.0,
        "genai-prices",
    )


@pytest.mark.parametrize(
    ("provider", "provider_id", "model"),
    [
        ("openai", "openai", "gpt-4o"),
        ("openai", "openai", "gpt-4.1-mini"),
        ("openai", "openai", "o3"),
        ("openai", "openai", "gpt-5"),
        ("anthropic", "anthropic", "claude-sonnet-4-5"),
        ("anthropic", "anthropic", "claude-opus-4-1"),
        ("gcp.gemini", "google", "gemini-2.5-pro"),
        ("gcp.gemini", "google", "gemini-2.5-flash"),
    ],
)
@pytest.mark.parametrize(
    "usage",
    [
        Usage(input_tokens=1_234, output_tokens=567),
        Usage(input_tokens=300_000, output_tokens=9_000, cache_read_input_tokens=200_000),
        Usage(input_tokens=8_000, output_tokens=4_000, reasoning_output_tokens=3_000),
        Usage(input_tokens=9_000, cache_creation_input_tokens=4_000, output_tokens=10),
    ],
)
def test_agrees_with_genai_prices_calc_price(
    provider: str, provider_id: str, model: str, usage: Usage
) -> None:
    reference = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_input_tokens,
            cache_write_tokens=usage.cache_creation_input_tokens,
            output_reasoning_tokens=usage.reasoning_output_tokens,
        ),
        model,
        provider_id=provider_id,
    )
    assert_cost(
        cost_for(provider, model, usage),
        float(reference.input_price),
        float(reference.output_price),
        "genai-prices",
    )


# --- unknown models -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model"),
    [("openai", "no-such-model-xyz"), ("ollama", "llama3"), ("openai", None), ("openai", "")],
)
def test_unknown_model_or_provider_has_no_cost(provider: str, model: str | None) -> None:
    assert cost_for(provider, model, Usage(input_tokens=10, output_tokens=10)) is None


def test_unknown_model_span_says_so_and_has_no_cost(captured: SpanCapture) -> None:
    with llmtrace.llm_call("my-local-model", provider="ollama") as call:
        call.record_usage(input_tokens=10, output_tokens=5)
    attributes = captured.find("chat my-local-model").attributes or {}
    assert attributes[semconv.LLMTRACE_COST_UNKNOWN_MODEL] is True
    assert semconv.GEN_AI_USAGE_COST_AMOUNT not in attributes
    assert semconv.LLMTRACE_COST_INPUT not in attributes


def test_known_model_span_has_cost_attributes(captured: SpanCapture) -> None:
    with llmtrace.llm_call("gpt-4o", provider="openai") as call:
        call.record_response(model="gpt-4o-mini")  # the model that answered is priced
        call.record_usage(input_tokens=M, output_tokens=M)
    attributes = captured.find("chat gpt-4o").attributes or {}
    assert attributes[semconv.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(0.75)
    assert attributes[semconv.GEN_AI_USAGE_COST_CURRENCY] == "USD"
    assert attributes[semconv.GEN_AI_USAGE_COST_SOURCE] == "local"
    assert attributes[semconv.LLMTRACE_COST_INPUT] == pytest.approx(0.15)
    assert attributes[semconv.LLMTRACE_COST_OUTPUT] == pytest.approx(0.60)
    assert attributes[semconv.LLMTRACE_COST_PRICE_SOURCE] == "genai-prices"
    assert semconv.LLMTRACE_COST_UNKNOWN_MODEL not in attributes


# --- overrides ------------------------------------------------------------------------------


def test_dict_override_wins_and_is_marked_user() -> None:
    load_price_overrides({"models": {"gpt-4o": {"input": 1.0, "output": 2.0, "cached_input": 0.5}}})
    usage = Usage(input_tokens=3_000, cache_read_input_tokens=1_000, output_tokens=1_000)
    assert_cost(cost_for("openai", "GPT-4o", usage), 2_000 / M + 1_000 * 0.5 / M, 2_000 / M, "user")


def test_override_for_a_model_genai_prices_does_not_know() -> None:
    load_price_overrides(
        {"acme-ft-1": {"input": 4, "output": 8, "cache_write": 5, "provider": "acme"}}
    )
    usage = Usage(input_tokens=1_000, cache_creation_input_tokens=400, output_tokens=10)
    assert_cost(cost_for("acme", "acme-ft-1", usage), 600 * 4 / M + 400 * 5 / M, 80 / M, "user")
    # the override names a provider: another provider's model of that name is not priced by it
    assert cost_for("other", "acme-ft-1", usage) is None


def test_prefix_override() -> None:
    load_price_overrides({"ft:gpt-4o-mini:acme:*": {"input": 0.3, "output": 1.2}})
    cost = cost_for("openai", "ft:gpt-4o-mini:acme::9xyz", Usage(input_tokens=M, output_tokens=M))
    assert_cost(cost, 0.3, 1.2, "user")


def test_reasoning_override_rate() -> None:
    load_price_overrides({"thinker": {"input": 1, "output": 2, "reasoning": 10}})
    usage = Usage(input_tokens=0, output_tokens=1_000, reasoning_output_tokens=600)
    assert_cost(cost_for("openai", "thinker", usage), 0.0, 400 * 2 / M + 600 * 10 / M, "user")


def test_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(
        '[models."house-model"]\n'
        'provider = "openai"\n'
        "input = 1.5\n"
        "output = 6\n"
        "cached_input = 0.75\n"
    )
    load_price_overrides(str(path))
    usage = Usage(input_tokens=2_000, cache_read_input_tokens=1_000, output_tokens=100)
    assert_cost(
        cost_for("openai", "house-model", usage),
        1_000 * 1.5 / M + 1_000 * 0.75 / M,
        600 / M,
        "user",
    )


def test_json_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"house-model": {"input": 2, "output": 3}}))
    load_price_overrides(path)
    assert_cost(
        cost_for("openai", "house-model", Usage(input_tokens=M, output_tokens=M)), 2, 3, "user"
    )


def test_override_source_reaches_the_span(captured: SpanCapture) -> None:
    load_price_overrides({"house-model": {"input": 1, "output": 1}})
    with llmtrace.llm_call("house-model", provider="openai") as call:
        call.record_usage(input_tokens=10, output_tokens=10)
    attributes = captured.find("chat house-model").attributes or {}
    assert attributes[semconv.LLMTRACE_COST_PRICE_SOURCE] == "user"
    assert attributes[semconv.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(20 / M)


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({"m": {"input": 1}}, "needs both 'input' and 'output'"),
        ({"m": {"input": -1, "output": 1}}, "non-negative number"),
        ({"m": {"input": "1", "output": 1}}, "non-negative number"),
        ({"m": {"input": float("nan"), "output": 1}}, "non-negative number"),
        ({"m": {"input": 1, "output": 1, "cached": 1}}, "unknown key(s) cached"),
        ({"m": [1, 2]}, "must be a table"),
        ({"m": {"input": 1, "output": 1, "provider": 3}}, "provider must be a string"),
        (["m"], "expected a mapping"),
    ],
)
def test_bad_overrides_raise_configuration_error(prices: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_price_overrides(prices)


def test_bad_files_raise_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_price_overrides(str(tmp_path / "missing.toml"))
    broken = tmp_path / "broken.toml"
    broken.write_text("[models\n")
    with pytest.raises(ConfigurationError, match="not valid"):
        load_price_overrides(broken)


def test_init_loads_the_prices_file_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": {"env-model": {"input": 7, "output": 7}}}))
    monkeypatch.setenv("LLMTRACE_PRICES_FILE", str(path))
    llmtrace.init(exporter="none", instrument=False, metrics=False)
    assert_cost(
        cost_for("openai", "env-model", Usage(input_tokens=M, output_tokens=0)), 7, 0, "user"
    )


# --- resolution: lazy, once, thread-safe ----------------------------------------------------


def test_each_model_is_resolved_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = genai_prices.calc_price

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(genai_prices, "calc_price", counting)
    usage = Usage(input_tokens=100, output_tokens=100)
    results: list[Cost | None] = []

    def worker() -> None:
        for _ in range(50):
            results.append(cost_for("openai", "gpt-4.1", usage))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cost_for("openai", "no-such-model-abc", usage)
    cost_for("openai", "no-such-model-abc", usage)
    assert calls == ["gpt-4.1", "no-such-model-abc"]
    assert len(results) == 200 and all(result == results[0] for result in results)


def test_import_and_init_do_not_load_genai_prices() -> None:
    code = (
        "import sys, llmtrace\n"
        "llmtrace.init(exporter='none', instrument=False)\n"
        "from llmtrace._genai import pricing\n"
        "assert 'genai_prices' not in sys.modules, 'imported too early'\n"
        "pricing.cost_for('openai', 'gpt-4o', pricing.Usage(input_tokens=1))\n"
        "assert 'genai_prices' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
