"""Cost on the recorded LangChain traffic (issue 21, point 1).

The replay's base URL is not api.openai.com, the gateway case: the recorded
models (gpt-4, gpt-4o, gpt-4o-mini, gpt-4.1-nano, gpt-3.5-turbo(-instruct))
are closed-weight OpenAI models, so they are priced by model name and marked
``llmtrace.cost.inferred``. Every LLM span with usage must carry the price
genai-prices gives for that model and usage (provider ``openai``), and every
root above LLM calls ``llmtrace.cost.total``. The vLLM-style scenarios
(``facebook/opt-125m``, open weights) have no price and are not listed here.
"""

from __future__ import annotations

import genai_prices
import pytest

from llmtrace import semconv
from llmtrace.testing import SpanCapture
from tests.support.langchain_helpers import attrs
from tests.support.langchain_replay import ReplayServer, load_cassette
from tests.support.langchain_run_tree import RunTree
from tests.support.langchain_scenarios import (
    CLOSED_EARLY,
    SCENARIOS,
    Scenario,
    llm_spans,
    run_scenario,
)

PRICED = [s for s in SCENARIOS if not s.name.startswith("vllm_")]


def genai_prices_cost(span_attributes: dict[str, object]) -> float:
    def tokens(key: str) -> int | None:
        value = span_attributes.get(key)
        return value if isinstance(value, int) else None

    usage = genai_prices.Usage(
        input_tokens=tokens(semconv.GEN_AI_USAGE_INPUT_TOKENS),
        output_tokens=tokens(semconv.GEN_AI_USAGE_OUTPUT_TOKENS),
        cache_read_tokens=tokens(semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS),
        cache_write_tokens=tokens(semconv.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS),
        output_reasoning_tokens=tokens(semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS),
    )
    model = str(span_attributes[semconv.GEN_AI_RESPONSE_MODEL])
    return float(genai_prices.calc_price(usage, model, provider_id="openai").total_price)


@pytest.mark.parametrize("scenario", PRICED, ids=str)
def test_recorded_calls_are_priced_by_model_name(
    scenario: Scenario, traced: SpanCapture, run_tree: RunTree
) -> None:
    with ReplayServer(load_cassette(scenario.path)) as server:
        run_scenario(scenario, server, run_tree)
    calls = llm_spans(traced)
    assert calls
    for span in calls:
        a = attrs(span)
        assert a.get(semconv.GEN_AI_USAGE_INPUT_TOKENS) is not None, span.name
        assert a.get(semconv.LLMTRACE_COST_UNKNOWN_MODEL) is None, span.name
        assert a.get(semconv.LLMTRACE_COST_INFERRED) is True, span.name
        assert a[semconv.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(genai_prices_cost(a))
    if scenario.name in CLOSED_EARLY:
        return  # their model span ends after the root: nothing rolls up (docs/langchain.md)
    for root in traced.roots():
        if root in calls:
            continue  # a model invoked on its own: its cost is on the span itself
        beneath = [s for s in calls if s.context.trace_id == root.context.trace_id]
        assert attrs(root)[semconv.LLMTRACE_COST_TOTAL] == pytest.approx(
            sum(attrs(s)[semconv.GEN_AI_USAGE_COST_AMOUNT] for s in beneath)
        )
