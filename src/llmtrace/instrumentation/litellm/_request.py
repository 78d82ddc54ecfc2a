"""Request phase: a LiteLLM call's arguments -> an unstarted ``LLMInvocation`` (pure).

    call = request_for(CHAT, args, kwargs, resolve)   # resolve = litellm.get_llm_provider
    call.inv.provider        # "anthropic", "together_ai", "vllm", "openai_compatible", ...

LiteLLM takes OpenAI's parameters for every provider, so the request fields are read
by the OpenAI instrumentation's extractor. The provider is the one LiteLLM resolves
(``model="anthropic/claude-..."``, ``custom_llm_provider=``), named through the
provider registry; LiteLLM's generic OpenAI-compatible providers pointed at another
host (``api_base=``) are named by that host, as an OpenAI client's ``base_url`` is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ... import semconv
from ..._errors import Failed, attempt
from ..._genai import providers
from ..._genai.lifecycle import LLMInvocation
from ..openai._providers import OPENAI_HOST, Server, accepts_include_usage
from ..openai._request import CHAT, EMBEDDINGS, Endpoint, invocation_for

CHAT_ENDPOINT = Endpoint(CHAT, semconv.OP_CHAT)
EMBEDDINGS_ENDPOINT = Endpoint(EMBEDDINGS, semconv.OP_EMBEDDINGS)
# LiteLLM's names for "any OpenAI-compatible server": the host tells which one it is.
_GENERIC = frozenset({"openai", "custom_openai", "openai_like", "text-completion-openai"})
_DEFAULT_PORTS = {"https": 443, "http": 80}
_CACHE_LIMIT = 256

# litellm.get_llm_provider(model=, custom_llm_provider=, api_base=) -> (model, provider, key, base)
Resolver = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Target:
    """Where a call goes: the registry's provider name, LiteLLM's own name, the server,
    and the model name the provider is sent (``"claude-..."`` for ``"anthropic/claude-..."``)."""

    provider: str
    litellm_provider: str | None
    address: str | None
    port: int | None
    model: str | None = None


def arguments(kind: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The call's parameters as one mapping (``completion(model, messages)`` may be positional)."""
    body = dict(kwargs)
    names = ("model", "input") if kind == EMBEDDINGS else ("model", "messages")
    for name, value in zip(names, args, strict=False):
        body.setdefault(name, value)
    return body


def _server(api_base: Any) -> tuple[str | None, int | None]:
    if not isinstance(api_base, str) or not api_base:
        return None, None
    try:
        parts = urlsplit(api_base)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None, None
    if not host:
        return None, None
    return host, port if port is not None else _DEFAULT_PORTS.get(parts.scheme)


class TargetTable:
    """Resolves (model, provider, api_base) once; later calls read a bounded cache."""

    def __init__(self, resolve: Resolver) -> None:
        self._resolve = resolve
        self._cache: dict[tuple[Any, Any, Any], Target] = {}
        providers.on_change(self._cache.clear)

    def lookup(self, body: Mapping[str, Any]) -> Target:
        model = body.get("model")
        custom = body.get("custom_llm_provider")
        api_base = body.get("api_base") or body.get("base_url")
        key = (model, custom, api_base)
        try:
            found = self._cache.get(key)
        except TypeError:  # an unhashable argument: resolve without caching
            return self._target(model, custom, api_base)
        if found is None:
            found = self._target(model, custom, api_base)
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[key] = found
        return found

    def _target(self, model: Any, custom: Any, api_base: Any) -> Target:
        name: str | None = None
        sent_model = None
        placed = attempt(  # LiteLLM raises for a model it cannot place
            self._resolve,
            model=model,
            custom_llm_provider=custom if isinstance(custom, str) else None,
            api_base=api_base if isinstance(api_base, str) else None,
        )
        if isinstance(placed, Failed):
            name = custom if isinstance(custom, str) else None
        else:
            sent_model, resolved, _, dynamic_base = placed
            name = resolved if isinstance(resolved, str) and resolved else None
            api_base = api_base or dynamic_base
        host, port = _server(api_base)
        sent_model = sent_model if isinstance(sent_model, str) and sent_model else None
        return Target(provider_name(name, host, port), name, host, port, sent_model)


def provider_name(litellm_provider: str | None, host: str | None, port: int | None) -> str:
    """The registry's name for LiteLLM's provider, or for the host it was pointed at."""
    if host:
        mapped = providers.user_hosts()
        if host in mapped or f"{host}:{port}" in mapped:
            return providers.by_host(host, port)  # the user's own mapping of this host wins
        generic = litellm_provider is None or litellm_provider.lower() in _GENERIC
        if generic and host != OPENAI_HOST:
            return providers.by_host(host, port)
    if litellm_provider is None:
        return providers.UNKNOWN
    return providers.by_alias(litellm_provider)


def reports_stream_usage(target: Target) -> bool:
    """Whether to ask LiteLLM for the usage chunk of a stream (``stream_options``).

    LiteLLM builds that chunk itself for the providers it speaks natively, and passes
    the option on to OpenAI-compatible servers; of those only hosts known to accept it
    are asked (api.openai.com and ``allow_usage_hosts()``, as for the openai SDK).
    """
    name, host = target.litellm_provider, target.address
    if name is None or name.lower() not in _GENERIC or host is None:
        return True
    return accepts_include_usage(host, target.port)


def invocation(endpoint: Endpoint, body: Mapping[str, Any], target: Target) -> LLMInvocation:
    """An unstarted invocation with everything the arguments tell."""
    inv = invocation_for(
        endpoint, body, Server(target.provider, target.address, target.port, False)
    )
    if target.model is not None:
        inv.request_model = target.model
    if target.litellm_provider is not None:
        inv.attributes[semconv.LLMTRACE_LITELLM_PROVIDER] = target.litellm_provider
    return inv
