"""The one provider registry: names, hosts, aliases, prices, and the user's host mapping."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from genai_prices import data_snapshot

import llmtrace
from llmtrace import ConfigurationError
from llmtrace._genai import pricing, providers
from llmtrace._genai.tokens import Usage
from llmtrace.instrumentation.langchain import _extract

GENAI_PRICES_IDS = {p.id for p in data_snapshot.get_snapshot().providers}
DELIBERATELY_UNPRICED = {
    "ollama",
    "lm_studio",
    "vllm",
    "openai_compatible",
    "langchain",
    "ibm.watsonx.ai",
}


@pytest.fixture(autouse=True)
def _no_user_hosts() -> Iterator[None]:
    yield
    providers.configure_hosts({})


def emitted_names() -> set[str]:
    """Every provider name an integration can derive from the registry's inputs."""
    names = {providers.by_host(host) for p in providers.PROVIDERS for host in p.hosts}
    names |= {providers.by_host("x" + s) for p in providers.PROVIDERS for s in p.host_suffixes}
    names |= {providers.by_host("127.0.0.1", p.local_port) for p in providers.PROVIDERS}
    names |= {providers.by_alias(a) for p in providers.PROVIDERS for a in p.aliases}
    names.add(providers.by_host("unknown.example"))
    return names


def test_every_emitted_provider_is_priced_or_deliberately_unpriced() -> None:
    for name in sorted(emitted_names()):
        known, price_id = providers.price_id(name)
        assert known, name
        if name in DELIBERATELY_UNPRICED:
            assert price_id is None, name
        else:
            assert price_id in GENAI_PRICES_IDS, (name, price_id)


def test_names_are_unique_and_aliases_point_to_one_provider() -> None:
    names = [p.name for p in providers.PROVIDERS]
    assert len(names) == len(set(names))
    aliases = [a for p in providers.PROVIDERS for a in p.aliases]
    assert len(aliases) == len(set(aliases))
    assert not set(aliases) & set(names) - {"azure"}


def test_the_same_backend_gets_one_name_whichever_way_it_is_reached() -> None:
    assert providers.by_host("api.together.xyz") == "together_ai"
    assert _extract.provider_name(None, {"ls_provider": "together"}, None) == "together_ai"
    assert _extract.provider_name(None, {"ls_provider": "google_genai"}, None) == "gcp.gemini"
    assert providers.by_host("generativelanguage.googleapis.com") == "gcp.gemini"


def test_together_is_priced() -> None:
    cost = pricing.cost_for(
        "together_ai", "meta-llama/Llama-3.3-70B-Instruct-Turbo", Usage(1000, 100)
    )
    assert cost is not None and cost.total > 0
    assert cost.inferred_vendor is None


@pytest.mark.parametrize(
    ("model", "vendor"),
    [
        ("gpt-4o-mini", "openai"),
        ("gpt-4.1-nano-2025-04-14", "openai"),
        ("o3-mini", "openai"),
        ("o1", "openai"),
        ("openai/gpt-4o", "openai"),
        ("claude-3-5-haiku-latest", "anthropic"),
        ("gemini-2.0-flash", "gcp.gemini"),
        ("gpt-oss-120b", None),
        ("llama-3.1-8b-instruct", None),
        ("meta-llama/Llama-3.3-70B-Instruct", None),
        ("mistral-small", None),
        ("qwen2.5-72b", None),
        ("deepseek-chat", None),
        ("gemma-2-9b", None),
        ("olmo-2", None),
        (None, None),
    ],
)
def test_closed_weight_models_name_their_one_vendor(model: str | None, vendor: str | None) -> None:
    assert providers.inferred_vendor(model) == vendor


def test_unknown_host_prices_closed_weight_models_only_and_marks_them_inferred() -> None:
    usage = Usage(input_tokens=1000, output_tokens=100)
    inferred = pricing.cost_for("openai_compatible", "gpt-4o-mini", usage)
    direct = pricing.cost_for("openai", "gpt-4o-mini", usage)
    assert inferred is not None and direct is not None
    assert inferred.total == direct.total
    assert inferred.inferred_vendor == "openai" and direct.inferred_vendor is None
    assert pricing.cost_for("vllm", "claude-3-5-haiku-latest", usage) is not None
    assert pricing.cost_for("openai_compatible", "gpt-oss-120b", usage) is None
    assert pricing.cost_for("ollama", "llama3.1", usage) is None
    # A user's price wins everywhere, also for open weights on their own server.
    pricing.load_price_overrides({"models": {"llama3.1": {"input": 1.0, "output": 2.0}}})
    try:
        own = pricing.cost_for("ollama", "llama3.1", usage)
        assert own is not None and own.source == "user"
    finally:
        pricing.load_price_overrides({})


def test_user_host_mapping_wins_and_accepts_aliases() -> None:
    providers.configure_hosts({"Gateway.Internal": "openai", "proxy.local:8443": "anthropic"})
    assert providers.by_host("gateway.internal") == "openai"
    assert providers.by_host("proxy.local", 8443) == "anthropic"
    assert providers.by_host("proxy.local", 9000) == providers.UNKNOWN
    providers.configure_hosts({"g.internal": "together"})
    assert providers.by_host("g.internal") == "together_ai"
    assert providers.by_host("gateway.internal") == providers.UNKNOWN


def test_unknown_provider_in_the_mapping_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown provider 'opneai'.*openai"):
        llmtrace.init(exporter="none", instrument=False, providers={"gw.internal": "opneai"})


def test_mapping_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMTRACE_PROVIDERS", "gw.internal=openai,eu.gw.internal:8443=anthropic")
    llmtrace.init(exporter="none", instrument=False)
    assert providers.user_hosts() == {"gw.internal": "openai", "eu.gw.internal:8443": "anthropic"}


def test_malformed_mapping_in_the_environment_warns_and_is_ignored(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LLMTRACE_PROVIDERS", "gw.internal=nobody")
    with caplog.at_level(logging.WARNING, logger="llmtrace"):
        llmtrace.init(exporter="none", instrument=False)
    assert providers.user_hosts() == {}
    assert "LLMTRACE_PROVIDERS" in caplog.text
