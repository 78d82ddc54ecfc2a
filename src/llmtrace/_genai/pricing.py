"""Cost of an LLM call in USD, from its normalised usage and the model that answered.

    cost = cost_for("openai", "gpt-4o-2024-08-06", Usage(input_tokens=1200, output_tokens=300))
    cost.total, cost.input, cost.output, cost.source      # source: "genai-prices" or "user"

Prices come from the ``genai-prices`` package's bundled snapshot (never the
network). It is imported on the first priced call, and each (provider, model,
service tier) is resolved once into per-token rates; every later call is plain
arithmetic. Cached input, cache writes, audio and reasoning tokens are priced
at their own rates when the model has one (``input_tokens`` includes cached
and audio tokens, so those are taken out of the plain-input count first);
without a separate rate they cost what ordinary input/output tokens cost.
Tiered prices (e.g. above 200k input tokens) follow the total input tokens.

An unknown model or provider gives ``None``, never a made-up zero. User prices
win over the snapshot::

    load_price_overrides({"models": {"my-finetune": {"input": 3.0, "output": 12.0}}})
    load_price_overrides("prices.toml")       # or .json; see docs/cost.md

Prices in overrides are USD per million tokens: ``input``, ``output`` and
optionally ``cached_input``, ``cache_write``, ``reasoning`` and ``provider``.
A model name ending in ``*`` matches by prefix.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ConfigurationError, logger
from . import providers
from .tokens import Usage

SOURCE_GENAI_PRICES = "genai-prices"
SOURCE_USER = "user"

# Rates whose validity depends on the date or time of day are re-resolved this often.
_REFRESH_SECONDS = 60.0
_MAX_ENTRIES = 4096


@dataclass(slots=True)
class Cost:
    """Cost of one call. ``source`` tells whose prices: "genai-prices" or "user"."""

    input: float
    output: float
    currency: str = "USD"
    source: str = SOURCE_GENAI_PRICES
    # Priced as this vendor's model although the call went to a host that is not the vendor's
    # (a gateway, a proxy): see providers.inferred_vendor.
    inferred_vendor: str | None = None

    @property
    def total(self) -> float:
        return self.input + self.output


# A rate is ((threshold, usd_per_token), ...) highest threshold first: the first whose
# threshold the call's input tokens exceed applies. A flat rate is ((-1, usd),).
_Rate = tuple[tuple[int, float], ...]
# A part of the input or output with a rate of its own: the Usage field counting it, and
# that rate. Input counts include cached and audio tokens, output counts reasoning and
# audio ones, so a part's tokens are taken out of the plain count before it is priced.
_Part = tuple[str, _Rate]

# The parts a model may price on its own: name (as in user price files) -> (side, Usage
# field, genai-prices' attribute(s), first found wins).
_PARTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "cache_read": ("input", "cache_read_input_tokens", ("cache_read_mtok",)),
    "cache_write": (
        "input",
        "cache_creation_input_tokens",
        ("cache_write_mtok", "cache_write_5m_mtok"),
    ),
    "input_audio": ("input", "input_audio_tokens", ("input_audio_mtok",)),
    "reasoning": ("output", "reasoning_output_tokens", ("output_reasoning_mtok",)),
    "output_audio": ("output", "output_audio_tokens", ("output_audio_mtok",)),
}


@dataclass(frozen=True, slots=True)
class _Rates:
    input: _Rate
    output: _Rate
    input_parts: tuple[_Part, ...] = ()
    output_parts: tuple[_Part, ...] = ()
    source: str = SOURCE_GENAI_PRICES
    expires: float = math.inf  # time.monotonic() after which to resolve again
    inferred_vendor: str | None = None


def _rates(
    input: _Rate,
    output: _Rate,
    parts: Mapping[str, _Rate | None],
    *,
    source: str = SOURCE_GENAI_PRICES,
    expires: float = math.inf,
) -> _Rates:
    """``_Rates`` from the rates of the parts named in ``_PARTS`` (None: no rate of its own)."""
    sides: dict[str, list[_Part]] = {"input": [], "output": []}
    for name, (side, field, _) in _PARTS.items():
        rate = parts.get(name)
        if rate is not None:
            sides[side].append((field, rate))
    return _Rates(
        input, output, tuple(sides["input"]), tuple(sides["output"]), source, expires=expires
    )


def _per_token(rate: _Rate, input_tokens: int) -> float:
    for threshold, price in rate:
        if input_tokens > threshold:
            return price
    return rate[-1][1]


def _price(rates: _Rates, usage: Usage) -> Cost:
    """Plain arithmetic on resolved rates; counts without their own rate stay in the base."""
    total_input = usage.input_tokens or 0
    input_cost = _cost_of(total_input, rates.input, rates.input_parts, usage, total_input)
    output_cost = _cost_of(
        usage.output_tokens or 0, rates.output, rates.output_parts, usage, total_input
    )
    return Cost(input_cost, output_cost, "USD", rates.source, rates.inferred_vendor)


def _cost_of(
    total: int, base: _Rate, parts: tuple[_Part, ...], usage: Usage, input_tokens: int
) -> float:
    """``total`` tokens at ``base``, except the parts that have a rate of their own."""
    cost = 0.0
    plain = total
    for field, rate in parts:
        count = getattr(usage, field)
        if count:
            plain -= count
            cost += count * _per_token(rate, input_tokens)
    if plain > 0:
        threshold, price = base[0]  # a flat rate, or a call in the top tier: no lookup
        cost += plain * (price if input_tokens > threshold else _per_token(base, input_tokens))
    return cost


# --- genai-prices -------------------------------------------------------------------------


_warned_missing = False


def _rate_from(value: Any) -> _Rate | None:
    """genai-prices' Decimal or TieredPrices (USD per million) -> our per-token rate."""
    if value is None:
        return None
    tiers = getattr(value, "tiers", None)
    if tiers is None:
        return ((-1, float(value) / 1e6),)
    steps = [(int(tier.start), float(tier.price) / 1e6) for tier in tiers]
    steps.sort(reverse=True)
    return (*steps, (-1, float(value.base) / 1e6))


def _is_static(model_info: Any) -> bool:
    if isinstance(getattr(model_info, "prices", None), list):
        return False
    variants = getattr(model_info, "price_variants", None) or ()
    return all(getattr(variant, "constraint", None) is None for variant in variants)


def _resolve_genai_prices(provider_id: str | None, model: str, tier: str | None) -> _Rates | None:
    global _warned_missing
    try:
        import genai_prices
    except ModuleNotFoundError:
        if not _warned_missing:
            _warned_missing = True
            logger.warning(
                "llmtrace: genai-prices is missing (reinstall llmtrace) so LLM calls are not priced"
            )
        return None

    context = {"service_tier": tier} if tier else None
    try:
        calculation = genai_prices.calc_price(
            genai_prices.Usage(), model, provider_id=provider_id, price_context=context
        )
    except LookupError:
        return None
    prices = calculation.model_price
    input_rate = _rate_from(getattr(prices, "input_mtok", None))
    output_rate = _rate_from(getattr(prices, "output_mtok", None))
    if input_rate is None and output_rate is None:
        return None  # priced per request, per second, ...: not a token price
    parts = {
        name: _rate_from(_first_price(prices, attributes))
        for name, (_, _, attributes) in _PARTS.items()
    }
    return _rates(
        input_rate or ((-1, 0.0),),
        output_rate or ((-1, 0.0),),
        parts,
        expires=math.inf if _is_static(calculation.model) else time.monotonic() + _REFRESH_SECONDS,
    )


def _first_price(prices: Any, attributes: tuple[str, ...]) -> Any:
    for attribute in attributes:
        value = getattr(prices, attribute, None)
        if value is not None:
            return value
    return None


# --- cache and overrides ------------------------------------------------------------------

_cache: dict[tuple[str | None, str, str | None], _Rates | None] = {}
_UNRESOLVED: Any = object()
_lock = threading.Lock()
_overrides: dict[str, tuple[str | None, _Rates]] = {}  # lower-cased model -> (provider, rates)
_override_prefixes: list[tuple[str, str | None, _Rates]] = []


def _user_rates(provider: str | None, model: str) -> _Rates | None:
    key = model.lower()
    found = _overrides.get(key)
    if found is not None and found[0] in (None, provider):
        return found[1]
    for prefix, wanted, rates in _override_prefixes:
        if key.startswith(prefix) and wanted in (None, provider):
            return rates
    return None


def _resolve(provider: str | None, model: str, tier: str | None) -> _Rates | None:
    rates = _user_rates(provider, model)
    if rates is not None:
        return rates
    known, provider_id = providers.price_id(provider)
    if known and (provider_id is not None or provider is None):
        return _resolve_genai_prices(provider_id, model, tier)
    # An unknown or self-hosted provider: priced only as a closed-weight vendor's model.
    vendor = providers.inferred_vendor(model)
    if vendor is None:
        return None
    rates = _resolve_genai_prices(providers.price_id(vendor)[1], model, tier)
    return None if rates is None else dataclasses.replace(rates, inferred_vendor=vendor)


def _rates_for(provider: str | None, model: str, tier: str | None) -> _Rates | None:
    """Resolve (again, once expired) and cache the rates of a model."""
    rates: _Rates | None
    key = (provider, model, tier)
    with _lock:
        rates = _resolve(provider, model, tier)
        if len(_cache) >= _MAX_ENTRIES:
            _cache.clear()
        _cache[key] = rates
    if rates is None:
        logger.debug("llmtrace: no price for model %r of provider %r", model, provider)
    return rates


def cost_for(
    provider: str | None, model: str | None, usage: Usage, service_tier: str | None = None
) -> Cost | None:
    """Price ``usage`` for the model that answered; None when the model's price is unknown.

    ``service_tier`` (OpenAI's "flex", "priority", ...) selects tier prices where known.
    """
    if not model:
        return None
    key = (provider, model, service_tier or None)
    rates = _cache.get(key, _UNRESOLVED)
    if rates is _UNRESOLVED or (rates is not None and rates.expires < time.monotonic()):
        rates = _rates_for(*key)
    if rates is None:
        return None
    return _price(rates, usage)


# --- user overrides -----------------------------------------------------------------------

# A price file's keys -> "input", "output" or a part of _PARTS.
_OVERRIDE_KEYS = {
    "input": "input",
    "output": "output",
    "cached_input": "cache_read",
    "cache_write": "cache_write",
    "reasoning": "reasoning",
    "input_audio": "input_audio",
    "output_audio": "output_audio",
}


def _read_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"prices: cannot read the price file {path}: {exc}") from exc
    try:
        if path.suffix.lower() == ".toml":
            return _load_toml(text)
        return json.loads(text)
    except ValueError as exc:  # json.JSONDecodeError and tomllib.TOMLDecodeError
        raise ConfigurationError(f"prices: {path} is not valid: {exc}") from exc


def _load_toml(text: str) -> Any:
    for name in ("tomllib", "tomli"):  # tomllib from Python 3.11, tomli before
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        return module.loads(text)
    raise ConfigurationError(
        "prices: reading TOML needs Python 3.11+ or the 'tomli' package; "
        "use a .json price file instead"
    )


def _parse_entry(model: str, entry: Any) -> tuple[str | None, _Rates]:
    if not isinstance(entry, Mapping):
        raise ConfigurationError(f"prices: the entry for {model!r} must be a table of prices")
    unknown = set(entry) - set(_OVERRIDE_KEYS) - {"provider"}
    if unknown:
        allowed = ", ".join(sorted([*_OVERRIDE_KEYS, "provider"]))
        raise ConfigurationError(
            f"prices: unknown key(s) {', '.join(sorted(unknown))} for {model!r}; allowed: {allowed}"
        )
    if "input" not in entry or "output" not in entry:
        raise ConfigurationError(f"prices: {model!r} needs both 'input' and 'output' (USD per 1M)")
    fields: dict[str, _Rate] = {}
    for key, field in _OVERRIDE_KEYS.items():
        if key in entry:
            value = entry[key]
            valid = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not valid or not math.isfinite(value) or value < 0:
                raise ConfigurationError(
                    f"prices: {model}.{key} must be a non-negative number (USD per 1M tokens)"
                )
            fields[field] = ((-1, float(value) / 1e6),)
    provider = entry.get("provider")
    if provider is not None and not isinstance(provider, str):
        raise ConfigurationError(f"prices: {model}.provider must be a string")
    return provider, _rates(fields["input"], fields["output"], fields, source=SOURCE_USER)


def load_price_overrides(prices: Any) -> None:
    """Add or override prices: a dict, or a path to a TOML/JSON file (USD per 1M tokens).

    Raises ``ConfigurationError`` naming the problem when the prices cannot be used.
    """
    if prices is None:
        return
    data = _read_file(Path(prices)) if isinstance(prices, (str, Path)) else prices
    if not isinstance(data, Mapping):
        raise ConfigurationError("prices: expected a mapping of model name -> prices")
    models = data.get("models", data) if isinstance(data.get("models"), Mapping) else data
    parsed = {str(model): _parse_entry(str(model), entry) for model, entry in models.items()}
    with _lock:
        for model, (provider, rates) in parsed.items():
            name = model.lower()
            if name.endswith("*"):
                _override_prefixes.insert(0, (name[:-1], provider, rates))
            else:
                _overrides[name] = (provider, rates)
        _cache.clear()
    logger.debug("llmtrace: loaded %d price override(s)", len(parsed))


def clear_price_overrides() -> None:
    """Drop every user price and every resolved price (for tests)."""
    with _lock:
        _overrides.clear()
        _override_prefixes.clear()
        _cache.clear()
