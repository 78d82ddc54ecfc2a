"""Which server an OpenAI client talks to: provider name, address, port, usage support.

    table = ServerTable(azure_types=(AzureOpenAI, AsyncAzureOpenAI))
    server = table.lookup(client)       # cached per base-URL object: cheap on every call
    server.provider                     # "openai", "azure.ai.openai", "ollama", ...
    server.include_usage                # may we add stream_options.include_usage?

The provider comes from the one provider registry (``_genai/providers.py``); the
rules are documented in ``docs/openai.md``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ... import semconv
from ..._genai import providers

OPENAI_HOST = "api.openai.com"
UNKNOWN_PROVIDER = providers.UNKNOWN
_DEFAULT_PORTS = {"https": 443, "http": 80}
_CACHE_LIMIT = 64


@dataclass(frozen=True, slots=True)
class Server:
    provider: str
    address: str | None
    port: int | None
    include_usage: bool


def detect_provider(host: str, port: int | None, azure_client: bool = False) -> str:
    """The ``gen_ai.provider.name`` for a base URL's host and port (the provider registry)."""
    if azure_client:
        return semconv.PROVIDER_AZURE_OPENAI
    return providers.by_host(host, port)


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


def _forget_servers() -> None:
    """Every ServerTable looks its clients up again (the provider mapping changed)."""
    global _usage_generation
    with _usage_lock:
        _usage_generation += 1


providers.on_change(_forget_servers)


def accepts_include_usage(host: str, port: int | None) -> bool:
    """Whether ``stream_options.include_usage`` may be sent to this host (the allow-list)."""
    lowered, hosts = host.lower(), _usage_hosts
    return lowered in hosts or f"{lowered}:{port}" in hosts


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
