"""Turn any Python value into a bounded JSON string, without ever raising.

``to_json(value, max_bytes)`` is what every input, output and message
attribute goes through. It handles pydantic models, dataclasses, bytes,
numpy-like arrays, sets, circular structures and objects whose ``__repr__``
raises. A result over ``max_bytes`` (UTF-8) is shrunk structurally (long
strings cut, long lists and dicts shortened, each cut marked) so that it
stays valid JSON; only as a last resort does it become a truncated JSON
string.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

TRUNCATION_MARKER = "…[truncated]"
_MAX_DEPTH = 32
_BINARY_PREVIEW = 32


def _default(value: Any) -> Any:
    """json.dumps fallback for the common non-JSON types (no recursion tracking needed)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # pydantic v2
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _describe_binary(bytes(value))
    if isinstance(value, (set, frozenset)):
        return list(value)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy arrays and scalars
        return tolist()
    return _safe_repr(value)


def _describe_binary(data: bytes) -> str:
    preview = base64.b64encode(data[:_BINARY_PREVIEW]).decode("ascii")
    return f"<bytes len={len(data)} b64={preview}{'…' if len(data) > _BINARY_PREVIEW else ''}>"


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - user objects may raise anything from __repr__
        try:
            return f"<unrepresentable {type(value).__qualname__}>"
        except Exception:  # noqa: BLE001
            return "<unrepresentable>"


def _to_tree(value: Any, depth: int, active: set[int]) -> Any:
    """Convert to plain JSON types, breaking cycles and limiting depth."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and not math.isfinite(value):
            return repr(value)
        return value
    if depth >= _MAX_DEPTH:
        return "<max depth>"
    ident = id(value)
    if ident in active:
        return "<circular>"
    active.add(ident)
    try:
        if isinstance(value, Mapping):
            return {
                k if isinstance(k, str) else _safe_repr(k): _to_tree(v, depth + 1, active)
                for k, v in list(value.items())
            }
        if isinstance(value, (list, tuple)):
            return [_to_tree(v, depth + 1, active) for v in value]
        try:
            converted = _default(value)
        except Exception:  # noqa: BLE001 - model_dump/asdict/tolist of a user object
            converted = _safe_repr(value)
        if converted is value or isinstance(converted, str):
            return converted if isinstance(converted, str) else _safe_repr(value)
        return _to_tree(converted, depth + 1, active)
    finally:
        active.discard(ident)


# allow_nan=False: NaN/Infinity are not JSON; they take the slow path and become strings.
_encode = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=_default, allow_nan=False
).encode


def _byte_len(text: str) -> int:
    # Fast path: every char is at most 4 bytes in UTF-8; encode only when it may matter.
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def to_json(value: Any, max_bytes: int) -> str:
    """Serialise ``value`` to JSON of at most ``max_bytes`` UTF-8 bytes. Never raises."""
    if isinstance(value, str):
        text = _fast_json_str(value)
    else:
        try:
            text = _encode(value)
        except Exception:  # noqa: BLE001 - circular, raising __repr__, exotic keys...
            text = _slow_encode(_to_tree(value, 0, set()))
    if len(text) <= max_bytes // 4 or _byte_len(text) <= max_bytes:
        return text
    return _shrink(value, max_bytes)


def _fast_json_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _slow_encode(tree: Any) -> str:
    try:
        return json.dumps(tree, ensure_ascii=False, separators=(",", ":"), default=_safe_repr)
    except Exception:  # noqa: BLE001 - last resort; should be unreachable after _to_tree
        return json.dumps("<unserializable>")


def _shrink(value: Any, max_bytes: int) -> str:
    try:
        tree = _to_tree(value, 0, set())
    except Exception:  # noqa: BLE001
        tree = _safe_repr(value)
    limit = max(16, max_bytes // 2)
    while limit >= 16:
        text = _slow_encode(_cut(tree, limit, max(1, limit // 8)))
        if _byte_len(text) <= max_bytes:
            return text
        limit //= 2
    return _truncated_string(_slow_encode(tree), max_bytes)


def _cut(tree: Any, max_str: int, max_items: int) -> Any:
    if isinstance(tree, str):
        if len(tree) <= max_str:
            return tree
        return tree[:max_str] + TRUNCATION_MARKER
    if isinstance(tree, dict):
        items = list(tree.items())
        cut = {k[:max_str]: _cut(v, max_str, max_items) for k, v in items[:max_items]}
        if len(items) > max_items:
            cut[TRUNCATION_MARKER] = f"{len(items) - max_items} more keys"
        return cut
    if isinstance(tree, list):
        cut_list = [_cut(v, max_str, max_items) for v in tree[:max_items]]
        if len(tree) > max_items:
            cut_list.append(f"{TRUNCATION_MARKER} {len(tree) - max_items} more items")
        return cut_list
    return tree


def _truncated_string(text: str, max_bytes: int) -> str:
    budget = max(0, max_bytes - len(TRUNCATION_MARKER.encode()) - 8)
    while True:
        candidate = json.dumps(text[:budget] + TRUNCATION_MARKER, ensure_ascii=False)
        if _byte_len(candidate) <= max_bytes or budget == 0:
            return candidate
        budget = budget * 3 // 4


def truncate_text(text: str, max_bytes: int) -> str:
    """Cut a plain (non-JSON) string to ``max_bytes`` UTF-8 bytes, marking the cut."""
    if len(text) <= max_bytes // 4 or _byte_len(text) <= max_bytes:
        return text
    encoded = text.encode("utf-8")[: max(0, max_bytes - len(TRUNCATION_MARKER.encode()))]
    return encoded.decode("utf-8", errors="ignore") + TRUNCATION_MARKER
