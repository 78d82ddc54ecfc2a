"""Which server an OpenAI client talks to: provider name, address, port, usage support.

    table = ServerTable(azure_types=(AzureOpenAI, AsyncAzureOpenAI))
    server = table.lookup(client)       # cached per base-URL object: cheap on every call
    server.provider                     # "openai", "azure.ai.openai", "ollama", ...
    server.include_usage                # may we add stream_options.include_usage?

The detection rules (first match wins) are documented in ``docs/openai.md``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ... import semconv

OPENAI_HOST = "api.openai.com"
UNKNOWN_PROVIDER = "openai_compatible"

# Exact host -> provider (GenAI well-known values where the conventions define one).
_HOSTS: dict[str, str] = {
    OPENAI_HOST: semconv.PROVIDER_OPENAI,
    "openrouter.ai": "openrouter",
    "api.groq.com": "groq",
    "api.deepseek.com": "deepseek",
    "api.mistral.ai": "mistral_ai",
    "api.x.ai": "x_ai",
    "api.perplexity.ai": "perplexity",
    "generativelanguage.googleapis.com": "gcp.gemini",
    "api.together.xyz": "together_ai",
    "api.fireworks.ai": "fireworks",
    "api.cerebras.ai": "cerebras",
}
_AZURE_SUFFIXES = (".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com")
# Default ports of local OpenAI-compatible servers.
_PORTS: dict[int, str] = {11434: "ollama", 1234: "lm_studio", 8000: "vllm"}
_DEFAULT_PORTS = {"https": 443, "http": 80}
_CACHE_LIMIT = 64


@dataclass(frozen=True, slots=True)
class Server:
    provider: str
    address: str | None
    port: int | None
    include_usage: bool


def detect_provider(host: str, port: int | None, azure_client: bool = False) -> str:
    """The ``gen_ai.provider.name`` for a base URL's host and port."""
    host = host.lower()
    if azure_client or host.endswith(_AZURE_SUFFIXES):
        return semconv.PROVIDER_AZURE_OPENAI
    known = _HOSTS.get(host)
    if known is not None:
        return known
    if port is not None and port in _PORTS:
        return _PORTS[port]
    return UNKNOWN_PROVIDER


_usage_lock = threading.Lock()
_usage_hosts: frozenset[str] = frozenset({OPENAI_HOST})
_usage_generation = 0


def allow_usage_hosts(hosts: Iterable[str]) -> None:
    """Also inject ``stream_options.include_usage`` for these hosts ("host" or "host:port")."""
    global _usage_hosts, _usage_generation
    if isinstance(hosts, str):
        hosts = [hosts]
    extra = {h.strip().lower() for h in hosts if isinstance(h, str) and h.strip()}
    with _usage_lock:
        _usage_hosts = _usage_hosts | extra
        _usage_generation += 1


def reset_usage_hosts() -> None:
    """Back to the default allow-list (api.openai.com only); for tests."""
    global _usage_hosts, _usage_generation
    with _usage_lock:
        _usage_hosts = frozenset({OPENAI_HOST})
        _usage_generation += 1


class ServerTable:
    """Base URL -> ``Server``, cached per URL object (the cache follows the allow-list)."""

    def __init__(self, azure_types: tuple[type, ...] = ()) -> None:
        self._azure_types = azure_types
        self._cache: dict[int, tuple[object, Server]] = {}
        self._generation = -1
        self._lock = threading.Lock()

    def lookup(self, client: Any) -> Server:
        url = getattr(client, "_base_url", None)
        if url is None:
            url = getattr(client, "base_url", None)
        if self._generation == _usage_generation:
            hit = self._cache.get(id(url))
            if hit is not None and hit[0] is url:
                return hit[1]
        server = self._detect(client, url)
        with self._lock:
            if len(self._cache) >= _CACHE_LIMIT or self._generation != _usage_generation:
                self._cache = {}
                self._generation = _usage_generation
            self._cache[id(url)] = (url, server)
        return server

    def _detect(self, client: Any, url: Any) -> Server:
        host = getattr(url, "host", None)
        if not isinstance(host, str) or not host:
            return Server(UNKNOWN_PROVIDER, None, None, False)
        port = getattr(url, "port", None)
        port = port if isinstance(port, int) else None
        scheme = getattr(url, "scheme", "")
        effective_port = port if port is not None else _DEFAULT_PORTS.get(str(scheme))
        azure = bool(self._azure_types) and isinstance(client, self._azure_types)
        provider = detect_provider(host, port, azure)
        lowered = host.lower()
        hosts = _usage_hosts
        usage = lowered in hosts or f"{lowered}:{effective_port}" in hosts
        return Server(provider, host, effective_port, usage)
