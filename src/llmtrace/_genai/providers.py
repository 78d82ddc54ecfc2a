"""THE provider registry: where a call went -> ``gen_ai.provider.name`` -> pricing id.

Every integration names its provider through this one table, so the same backend
gets the same name (and the same prices) whichever way it is reached::

    providers.by_host("api.together.xyz", 443)     # "together_ai"   (an OpenAI client's base URL)
    providers.by_alias("together")                 # "together_ai"   (LangChain ls_provider, ...)
    providers.price_id("together_ai")              # (True, "together")   genai-prices' id
    providers.price_id("vllm")                     # (True, None)    deliberately unpriced
    providers.inferred_vendor("gpt-4o-mini")       # "openai": closed weights, one vendor

Users map their own hosts (a gateway, a proxy) to a provider with
``init(providers={"gateway.internal": "openai"})`` or ``LLMTRACE_PROVIDERS``.

A provider with no price id is deliberately unpriced: a local or self-hosted server
whose cost is the user's own hardware. On such a server (and on an unknown host) a
call is still priced when its model is a closed-weight model that only one vendor
(or its clouds) serves: OpenAI's ``gpt-*`` / ``o<digit>*``, Anthropic's
``claude-*``, Google's ``gemini-*``. Open-weight families (Llama, Mistral's open
models, Qwen, DeepSeek, ``gpt-oss``, Gemma, ...) stay unpriced there unless the
user gives a price: they are usually self-hosted.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .._errors import ConfigurationError

UNKNOWN = "openai_compatible"  # an OpenAI-compatible server on a host nobody named


@dataclass(frozen=True, slots=True)
class Provider:
    """One row: the conventions' name, genai-prices' id (None: unpriced), how it is found."""

    name: str
    price_id: str | None
    hosts: tuple[str, ...] = ()
    host_suffixes: tuple[str, ...] = ()
    local_port: int | None = None  # the default port of a local server of this kind
    aliases: tuple[str, ...] = ()  # LangChain ls_provider / class namespaces, LiteLLM names


PROVIDERS: tuple[Provider, ...] = (
    Provider("openai", "openai", hosts=("api.openai.com",), aliases=("text-completion-openai",)),
    Provider(
        "azure.ai.openai",
        "azure",
        host_suffixes=(
            ".openai.azure.com",
            ".cognitiveservices.azure.com",
            ".services.ai.azure.com",
        ),
        aliases=("azure", "azure_openai"),
    ),
    Provider("azure.ai.inference", "azure", aliases=("azure_ai",)),
    Provider("anthropic", "anthropic", hosts=("api.anthropic.com",)),
    Provider(
        "aws.bedrock", "aws", aliases=("amazon_bedrock", "bedrock", "bedrock_converse", "aws")
    ),
    Provider(
        "gcp.gemini",
        "google",
        hosts=("generativelanguage.googleapis.com",),
        aliases=("google_genai", "google", "gemini"),
    ),
    Provider(
        "gcp.vertex_ai",
        "google",
        host_suffixes=("-aiplatform.googleapis.com",),
        hosts=("aiplatform.googleapis.com",),
        aliases=("google_vertexai", "vertexai", "vertex_ai"),
    ),
    Provider("gcp.gen_ai", "google"),
    Provider(
        "cohere", "cohere", hosts=("api.cohere.com", "api.cohere.ai"), aliases=("cohere_chat",)
    ),
    Provider("deepseek", "deepseek", hosts=("api.deepseek.com",)),
    Provider("groq", "groq", hosts=("api.groq.com",)),
    Provider("mistral_ai", "mistral", hosts=("api.mistral.ai",), aliases=("mistral", "mistralai")),
    Provider("x_ai", "x-ai", hosts=("api.x.ai",), aliases=("xai",)),
    Provider("perplexity", "perplexity", hosts=("api.perplexity.ai",)),
    Provider("moonshot_ai", "moonshotai", hosts=("api.moonshot.ai",), aliases=("moonshot",)),
    Provider("fireworks", "fireworks", hosts=("api.fireworks.ai",), aliases=("fireworks_ai",)),
    Provider(
        "together_ai", "together", hosts=("api.together.xyz",), aliases=("together", "togetherai")
    ),
    Provider("openrouter", "openrouter", hosts=("openrouter.ai",)),
    Provider("cerebras", "cerebras", hosts=("api.cerebras.ai",)),
    Provider("ibm.watsonx.ai", None, aliases=("ibm", "watsonx")),
    # Local and self-hosted servers: the user's hardware, no list price.
    Provider("ollama", None, local_port=11434, aliases=("ollama_chat",)),
    Provider("lm_studio", None, local_port=1234),
    Provider("vllm", None, local_port=8000, aliases=("hosted_vllm",)),
    Provider(UNKNOWN, None),
    Provider("langchain", None),  # a LangChain model that names no provider
)

_BY_NAME: dict[str, Provider] = {p.name: p for p in PROVIDERS}
_BY_HOST: dict[str, str] = {host: p.name for p in PROVIDERS for host in p.hosts}
_SUFFIXES: tuple[tuple[str, str], ...] = tuple(
    (suffix, p.name) for p in PROVIDERS for suffix in p.host_suffixes
)
_BY_PORT: dict[int, str] = {p.local_port: p.name for p in PROVIDERS if p.local_port}
_BY_ALIAS: dict[str, str] = {
    **{p.name: p.name for p in PROVIDERS},
    **{alias: p.name for p in PROVIDERS for alias in p.aliases},
}

# Closed-weight model families, each served only by its vendor (or the vendor's clouds).
_CLOSED_WEIGHT: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(gpt-(?!oss)|chatgpt-|o\d(-|$)|text-embedding-|davinci-|babbage-)"), "openai"),
    (re.compile(r"claude-"), "anthropic"),
    (re.compile(r"gemini-"), "gcp.gemini"),
)

_lock = threading.Lock()
_user_hosts: dict[str, str] = {}  # "host" or "host:port" (lower-case) -> provider name
# Called after the user's mapping changes, so that per-client caches forget old answers.
_on_change: list[Callable[[], None]] = []


def by_name(name: str) -> Provider | None:
    return _BY_NAME.get(name)


def by_alias(alias: str) -> str:
    """The provider name for an integration's own word for it; unknown words pass through."""
    lowered = alias.lower()
    return _BY_ALIAS.get(lowered, lowered)


def by_host(host: str, port: int | None = None) -> str:
    """The provider name for a base URL's host and port (the user's mapping wins)."""
    host = host.lower()
    if _user_hosts:
        named = _user_hosts.get(f"{host}:{port}") or _user_hosts.get(host)
        if named is not None:
            return named
    known = _BY_HOST.get(host)
    if known is not None:
        return known
    for suffix, name in _SUFFIXES:
        if host.endswith(suffix):
            return name
    if port is not None:
        local = _BY_PORT.get(port)
        if local is not None:
            return local
    return UNKNOWN


def price_id(name: str | None) -> tuple[bool, str | None]:
    """(in the registry, genai-prices id or None when deliberately unpriced)."""
    if name is None:
        return True, None
    provider = _BY_NAME.get(name)
    if provider is None:
        provider = _BY_NAME.get(_BY_ALIAS.get(name.lower(), ""))
    if provider is None:
        return False, None
    return True, provider.price_id


def inferred_vendor(model: str | None) -> str | None:
    """The one vendor that serves this closed-weight model, else None (open weights, unknown)."""
    if not model:
        return None
    name = model.lower().rpartition("/")[2]  # "openai/gpt-4o" on gateways
    for pattern, vendor in _CLOSED_WEIGHT:
        if pattern.match(name):
            return vendor
    return None


def configure_hosts(mapping: Mapping[str, str]) -> None:
    """Map hosts ("host" or "host:port") to providers; replaces the previous mapping.

    Raises ``ConfigurationError`` for a provider nobody knows, naming it.
    """
    resolved: dict[str, str] = {}
    for host, provider in mapping.items():
        if not isinstance(host, str) or not host.strip():
            raise ConfigurationError(f"providers: a host must be a non-empty string, got {host!r}")
        name = _BY_ALIAS.get(str(provider).lower())
        if name is None:
            known = ", ".join(sorted(_BY_NAME))
            raise ConfigurationError(
                f"providers: unknown provider {provider!r} for host {host!r}; choose from {known}"
            )
        resolved[host.strip().lower()] = name
    with _lock:
        _user_hosts.clear()
        _user_hosts.update(resolved)
    for forget in _on_change:
        forget()


def on_change(callback: Callable[[], None]) -> None:
    """Have ``callback`` called whenever the user's host mapping changes."""
    _on_change.append(callback)


def user_hosts() -> dict[str, str]:
    return dict(_user_hosts)
