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
import json.encoder
import math
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring
from typing import Any

from opentelemetry.util.types import AttributeValue

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


# Exact types that _to_tree returns unchanged (floats may be NaN) and that _cut keeps as they are.
_SAME_IN_TREE = frozenset({str, int, bool, type(None)})
_SAME_WHEN_CUT = frozenset({int, float, bool, type(None)})
_SAME_IN_BOTH = _SAME_IN_TREE & _SAME_WHEN_CUT


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
        # Leaves that convert to themselves are kept inline: a call per leaf is most of the cost.
        if isinstance(value, Mapping):
            return {
                k if isinstance(k, str) else _safe_repr(k): (
                    v if type(v) in _SAME_IN_TREE else _to_tree(v, depth + 1, active)
                )
                for k, v in list(value.items())
            }
        if isinstance(value, (list, tuple)):
            return [
                v if type(v) in _SAME_IN_TREE else _to_tree(v, depth + 1, active) for v in value
            ]
        try:
            converted = _default(value)
        except Exception:  # noqa: BLE001 - model_dump/asdict/tolist of a user object
            converted = _safe_repr(value)
        if converted is value or isinstance(converted, str):
            return converted if isinstance(converted, str) else _safe_repr(value)
        return _to_tree(converted, depth + 1, active)
    finally:
        active.discard(ident)


def _compact_encoders(
    default: Callable[[Any], Any], allow_nan: bool
) -> tuple[Callable[[Any], str], Callable[[Any], str]]:
    """``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` minus its per-call setup.

    ``JSONEncoder.encode`` builds closures and a new C encoder on every call,
    which costs more than encoding a small value. The first function returned
    builds only the C encoder per call (with a fresh circular-reference table,
    so cycles still raise at once); the second reuses one encoder without that
    table, for values that cannot contain themselves (scalars, flat lists and
    dicts). Where the C accelerator is missing or differs, both are the plain
    encoder.
    """
    plain = json.JSONEncoder(
        ensure_ascii=False, separators=(",", ":"), default=default, allow_nan=allow_nan
    ).encode
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return plain, plain
    args = (default, encode_basestring, None, ":", ",", False, False, allow_nan)

    def encode(value: Any) -> str:
        if isinstance(value, str):
            return encode_basestring(value)
        return "".join(make({}, *args)(value, 0))

    try:
        shared = make(None, *args)

        def encode_acyclic(value: Any) -> str:
            if isinstance(value, str):
                return encode_basestring(value)
            return "".join(shared(value, 0))

        sample = {"a": [1, 2.5, None, True, "é\n"], "b": {"c": -3}}
        if encode(sample) == plain(sample) == encode_acyclic(sample):
            return encode, encode_acyclic
    except Exception:  # noqa: BLE001 - an interpreter whose private encoder differs
        pass
    return plain, plain


# allow_nan=False: NaN/Infinity are not JSON; they take the slow path and become strings.
_encode, _encode_acyclic = _compact_encoders(_default, allow_nan=False)
# Trees from _to_tree/_cut are new containers all the way down: no cycles to look for.
_encode_tree = _compact_encoders(_safe_repr, allow_nan=True)[1]
_SCALARS = frozenset({int, float, bool, type(None)})


def _byte_len(text: str) -> int:
    # Fast path: every char is at most 4 bytes in UTF-8; encode only when it may matter.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def to_json(value: Any, max_bytes: int) -> str:
    """Serialise ``value`` to JSON of at most ``max_bytes`` UTF-8 bytes. Never raises."""
    if isinstance(value, str):
        if len(value) + 2 > max_bytes:  # cannot fit: skip encoding what will be cut
            return _shrink(value, max_bytes)
        text = encode_basestring(value)
    else:
        size, flat = _scan(value)
        if size > max_bytes:
            return _shrink(value, max_bytes)
        try:
            text = _encode_acyclic(value) if flat else _encode(value)
        except Exception:  # noqa: BLE001 - circular, raising __repr__, exotic keys...
            text = _slow_encode(_to_tree(value, 0, set()))
    if len(text) <= max_bytes // 4 or _byte_len(text) <= max_bytes:
        return text
    return _shrink(value, max_bytes)


def _scan(value: Any) -> tuple[int, bool]:
    """A cheap look at a scalar or a plain dict/list/tuple before encoding it.

    Returns the bytes its direct string items need at least (over the budget
    means it must be shrunk anyway) and whether it holds only scalars (so it
    cannot contain itself).
    """
    kind = type(value)
    if kind in _SCALARS:
        return 0, True
    if kind is dict:
        items: Any = value.values()
    elif kind is list or kind is tuple:
        items = value
    else:
        return 0, False
    size = 0
    flat = True
    for item in items:
        item_kind = type(item)
        if item_kind is str:
            size += len(item) + 2
        elif item_kind not in _SCALARS:
            flat = False
    return size, flat


def _slow_encode(tree: Any) -> str:
    try:
        return _encode_tree(tree)
    except Exception:  # noqa: BLE001 - last resort; should be unreachable after _to_tree
        return json.dumps("<unserializable>")


def _shrink(value: Any, max_bytes: int) -> str:
    limit = max(16, max_bytes // 2)
    # The first cut nearly always fits, so take it in one pass over the value;
    # the loop below repeats it (and handles failures) when it does not.
    try:
        text = _slow_encode(_cut_tree(value, limit, max(1, limit // 8), 0, set()))
        fits = _byte_len(text) <= max_bytes
    except Exception:  # noqa: BLE001 - the full path below meets the same value again
        fits = False
    if fits:
        return text
    try:
        tree = _to_tree(value, 0, set())
    except Exception:  # noqa: BLE001
        tree = _safe_repr(value)
    while limit >= 16:
        text = _slow_encode(_cut(tree, limit, max(1, limit // 8)))
        if _byte_len(text) <= max_bytes:
            return text
        limit //= 2
    return _truncated_string(_slow_encode(tree), max_bytes)


def _cut_tree(value: Any, max_str: int, max_items: int, depth: int, active: set[int]) -> Any:
    """``_cut(_to_tree(value, depth, active), max_str, max_items)``, in one pass for plain data.

    Exact dicts, lists and tuples are converted and cut together, touching
    only the items that survive the cut; anything else takes the two steps.
    """
    kind = type(value)
    if kind is str:
        return value if len(value) <= max_str else value[:max_str] + TRUNCATION_MARKER
    if kind in _SAME_IN_BOTH:
        return value
    if kind is float:
        return value if math.isfinite(value) else _cut(repr(value), max_str, max_items)
    if (kind is not dict and kind is not list and kind is not tuple) or depth >= _MAX_DEPTH:
        return _cut(_to_tree(value, depth, active), max_str, max_items)
    ident = id(value)
    if ident in active:
        return _cut("<circular>", max_str, max_items)
    active.add(ident)
    try:
        if kind is dict:
            keyed = {k if isinstance(k, str) else _safe_repr(k): v for k, v in value.items()}
            cut = {
                k[:max_str]: (
                    v
                    if type(v) in _SAME_IN_BOTH
                    else _cut_tree(v, max_str, max_items, depth + 1, active)
                )
                for k, v in list(keyed.items())[:max_items]
            }
            if len(keyed) > max_items:
                cut[TRUNCATION_MARKER] = f"{len(keyed) - max_items} more keys"
            return cut
        cut_list = [
            v if type(v) in _SAME_IN_BOTH else _cut_tree(v, max_str, max_items, depth + 1, active)
            for v in value[:max_items]
        ]
        if len(value) > max_items:
            cut_list.append(f"{TRUNCATION_MARKER} {len(value) - max_items} more items")
        return cut_list
    finally:
        active.discard(ident)


def _cut(tree: Any, max_str: int, max_items: int) -> Any:
    if isinstance(tree, str):
        if len(tree) <= max_str:
            return tree
        return tree[:max_str] + TRUNCATION_MARKER
    if isinstance(tree, dict):
        items = list(tree.items())
        cut = {
            k[:max_str]: v if type(v) in _SAME_WHEN_CUT else _cut(v, max_str, max_items)
            for k, v in items[:max_items]
        }
        if len(items) > max_items:
            cut[TRUNCATION_MARKER] = f"{len(items) - max_items} more keys"
        return cut
    if isinstance(tree, list):
        cut_list = [
            v if type(v) in _SAME_WHEN_CUT else _cut(v, max_str, max_items)
            for v in tree[:max_items]
        ]
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
    encoded = text.encode("utf-8", "surrogatepass")
    encoded = encoded[: max(0, max_bytes - len(TRUNCATION_MARKER.encode()))]
    return encoded.decode("utf-8", errors="ignore") + TRUNCATION_MARKER


def to_attribute(value: Any, max_bytes: int) -> AttributeValue:
    """Any value as one span attribute within ``max_bytes``: the one value-to-attribute rule.

    Text is cut to the budget, booleans and numbers stay as they are, a list of strings
    stays a list, and anything else becomes bounded JSON.
    """
    if isinstance(value, str):
        return truncate_text(value, max_bytes)
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return [truncate_text(v, max_bytes) for v in value]
    return to_json(value, max_bytes)
