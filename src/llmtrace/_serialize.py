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
import sys
from collections.abc import Callable, Mapping
from itertools import islice
from json.encoder import encode_basestring
from typing import Any

from opentelemetry.util.types import AttributeValue

from ._errors import Failed, attempt

TRUNCATION_MARKER = "…[truncated]"
_MAX_DEPTH = 32
_BINARY_PREVIEW = 32


def _default(value: Any) -> Any:
    """json.dumps fallback for the common non-JSON types (no recursion tracking needed).

    Methods are called only on the types that really have them: ``model_dump`` on
    pydantic models, ``tolist`` on numpy-like arrays (never on an arbitrary object
    whose attribute lookup happens to return a callable, like an RPC proxy or a Mock).
    """
    kind = _kind(value)
    if kind == "pydantic":
        return value.model_dump(mode="json")
    if kind == "dataclass":
        return dataclasses.asdict(value)
    if kind == "binary":
        return _describe_binary(value)
    if kind == "items" and isinstance(value, (set, frozenset)):
        return list(value)
    if kind == "array":  # numpy arrays and scalars
        return value.tolist()
    return _safe_repr(value)


# Packages whose arrays and scalars convert with ``tolist()`` and iterate by row.
_ARRAY_PACKAGES = frozenset({"numpy", "torch", "jax", "jaxlib", "cupy"})
_KINDS: dict[type, str] = {}
_MAX_KINDS = 1024


def _kind(value: Any) -> str:
    """How a non-JSON value converts, worked out once per type (isinstance checks only)."""
    cls = type(value)
    kind = _KINDS.get(cls)
    if kind is None:
        kind = _classify(value)
        if len(_KINDS) >= _MAX_KINDS:  # each unittest.mock.Mock has a class of its own
            _KINDS.clear()
        _KINDS[cls] = kind
    return kind


def _classify(value: Any) -> str:
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "items"
    if _is_array(value):
        return "array"
    if _is_pydantic(value):
        return "pydantic"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return "dataclass"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "binary"
    return "other"


def _is_pydantic(value: Any) -> bool:
    # A class can only derive from BaseModel once pydantic is imported: no import here.
    module = sys.modules.get("pydantic")
    base = getattr(module, "BaseModel", None)
    return base is not None and isinstance(value, base)


def _is_array(value: Any) -> bool:
    module = getattr(type(value), "__module__", None)
    return isinstance(module, str) and module.partition(".")[0] in _ARRAY_PACKAGES


def _has_rows(value: Any) -> bool:
    """An array of at least one dimension (a 0-d array or a scalar converts with tolist)."""
    ndim = getattr(value, "ndim", 0)
    return isinstance(ndim, int) and ndim > 0


def _describe_binary(data: bytes | bytearray | memoryview) -> str:
    size = data.nbytes if isinstance(data, memoryview) else len(data)
    head = bytes(data[:_BINARY_PREVIEW]) if not isinstance(data, memoryview) else b""
    if isinstance(data, memoryview):
        head = data.cast("B")[:_BINARY_PREVIEW].tobytes() if data.contiguous else b""
    preview = base64.b64encode(head).decode("ascii")
    return f"<bytes len={size} b64={preview}{'…' if size > _BINARY_PREVIEW else ''}>"


def _safe_repr(value: Any) -> str:
    text = attempt(repr, value)  # user objects may raise anything from __repr__
    if isinstance(text, str):
        return text
    name = attempt(getattr, type(value), "__qualname__")
    return f"<unrepresentable {name}>" if isinstance(name, str) else "<unrepresentable>"


# Exact types that _cut_tree keeps as they are (floats may be NaN: checked apart).
_SAME_IN_BOTH = frozenset({int, bool, type(None)})


def _compact_encoders(
    default: Callable[[Any], Any], allow_nan: bool
) -> tuple[Callable[[Any], str], Callable[[Any], str]]:
    """``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` minus its per-call setup.

    The encoders are built once. The first keeps the circular-reference check
    (cycles raise at once); the second drops it, for values that cannot contain
    themselves (scalars, flat lists and dicts, trees made by ``_cut_tree``).
    """
    options: dict[str, Any] = {
        "ensure_ascii": False,
        "separators": (",", ":"),
        "default": default,
        "allow_nan": allow_nan,
    }
    encode = json.JSONEncoder(**options).encode
    encode_acyclic = json.JSONEncoder(check_circular=False, **options).encode
    return encode, encode_acyclic


# allow_nan=False: NaN/Infinity are not JSON; they take the slow path and become strings.
_encode, _encode_acyclic = _compact_encoders(_default, allow_nan=False)
# Trees from _cut_tree are new containers all the way down: no cycles to look for.
_encode_tree = _compact_encoders(_safe_repr, allow_nan=True)[1]
_SCALARS = frozenset({int, float, bool, type(None)})


def _byte_len(text: str) -> int:
    # Fast path: every char is at most 4 bytes in UTF-8; encode only when it may matter.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def to_json(value: Any, max_bytes: int) -> str:
    """Serialise ``value`` to JSON of at most ``max_bytes`` UTF-8 bytes. Never raises.

    The work is bounded by ``max_bytes``, not by the size of ``value``: a value that
    cannot fit is converted only as far as the budget reaches.
    """
    if isinstance(value, str):
        if len(value) + 2 > max_bytes:  # cannot fit: skip encoding what will be cut
            return _shrink(value, max_bytes, _Budget())
        text = encode_basestring(value)
    else:
        size, flat = _scan(value, max_bytes)
        if size > max_bytes:
            return _shrink(value, max_bytes, _Budget())
        if size < 0:  # holds objects only repr() describes: convert once, within budget
            return _bounded(value, max_bytes)
        encoded = attempt(_encode_acyclic if flat else _encode, value)
        if isinstance(encoded, Failed):  # circular, NaN, exotic keys...
            return _bounded(value, max_bytes)
        text = encoded
    if len(text) <= max_bytes // 4 or _byte_len(text) <= max_bytes:
        return text
    return _shrink(value, max_bytes, _Budget())


def _scan(value: Any, max_bytes: int) -> tuple[int, bool]:
    """A look at ``value`` before encoding it, costing at most about ``max_bytes`` steps.

    Returns the bytes it needs at least (over ``max_bytes``: it must be shrunk, so
    it is never encoded whole) or -1 when it holds objects that only ``repr()``
    describes, and whether it holds only scalars (so it cannot contain itself).
    """
    kind = type(value)
    if kind in _SCALARS:
        return 0, True
    if kind is not dict and kind is not list and kind is not tuple:
        return _lower_bound(value, max_bytes, 0), False
    # Every item takes at least two bytes (`1,`), every dict item five (`"":1,`).
    if (5 if kind is dict else 2) * len(value) > max_bytes + 1:
        return max_bytes + 1, False
    items: Any = value.values() if kind is dict else value
    size = 0
    flat = True
    for item in items:
        item_kind = type(item)
        if item_kind is str:
            size += len(item) + 2
        elif item_kind not in _SCALARS:
            flat = False
    if flat or size > max_bytes:
        return size, flat
    return _lower_bound(value, max_bytes, 0), False


def _lower_bound(value: Any, limit: int, depth: int) -> int:
    """Bytes the JSON of ``value`` takes at least; stops counting once over ``limit``.

    -1: somewhere inside is an object that only ``repr()`` describes.
    """
    kind = type(value)
    if kind is str:
        return len(value) + 2
    if kind in _SCALARS:
        return 1
    if depth >= _MAX_DEPTH:
        return 1
    if kind is dict or kind is list or kind is tuple:
        total = 1 + len(value)
        if total > limit:
            return total
        if kind is dict:
            for key, item in value.items():
                if type(key) is not str:
                    return -1
                more = _lower_bound(item, limit - total, depth + 1)
                if more < 0:
                    return -1
                total += len(key) + 3 + more
                if total > limit:
                    return total
            return total
        for item in value:  # brackets and separators are counted above
            item_kind = type(item)
            if item_kind is str:
                total += len(item) + 2
            elif item_kind in _SCALARS:
                total += 1
            else:
                more = _lower_bound(item, limit - total, depth + 1)
                if more < 0:
                    return -1
                total += more
            if total > limit:
                return total
        return total
    conversion = _kind(value)
    if conversion == "pydantic" or conversion == "binary":
        return 2  # model_dump(mode="json") gives plain JSON data; bytes a short summary
    if conversion == "array":
        size = getattr(value, "size", 1)
        return 2 * size if isinstance(size, int) else -1
    return -1


class _Budget:
    """Bytes left to produce in one pass, and the repr() of each object met (one call each)."""

    __slots__ = ("left", "reprs")

    def __init__(self) -> None:
        self.left = 0
        self.reprs: dict[int, str] = {}

    def repr_of(self, value: Any) -> str:
        key = id(value)
        text = self.reprs.get(key)
        if text is None:
            text = self.reprs[key] = _safe_repr(value)
        return text


def _slow_encode(tree: Any) -> str:
    text = attempt(_encode_tree, tree)  # last resort; should not fail after _cut_tree
    return text if isinstance(text, str) else json.dumps("<unserializable>")


def _bounded(value: Any, max_bytes: int) -> str:
    """Convert ``value`` whole when it fits, else cut it; each object's repr() made once."""
    budget = _Budget()
    budget.left = max_bytes
    # A user object raising from __iter__, items()...: _shrink meets it with its own guard.
    tree = attempt(_cut_tree, value, max_bytes, max_bytes, 0, set(), budget)
    text = "" if isinstance(tree, Failed) else _slow_encode(tree)
    if text and _byte_len(text) <= max_bytes:
        return text
    return _shrink(value, max_bytes, budget)


def _shrink(value: Any, max_bytes: int, budget: _Budget) -> str:
    """Cut ``value`` structurally (long strings, long lists and dicts, each cut marked).

    Each pass converts only what its byte budget reaches, so the cost follows
    ``max_bytes``, not the size of ``value``; a pass that still does not fit is
    repeated with half the limits.
    """
    limit = max(16, max_bytes // 2)
    text = json.dumps("<unserializable>")
    while limit >= 16:
        budget.left = 2 * limit
        tree = attempt(_cut_tree, value, limit, max(1, limit // 8), 0, set(), budget)
        if isinstance(tree, Failed):  # an object raising from __iter__, items()...
            tree = budget.repr_of(value)
        text = _slow_encode(tree)
        if _byte_len(text) <= max_bytes:
            return text
        limit //= 2
    return _truncated_string(text, max_bytes)


def _cut_tree(
    value: Any, max_str: int, max_items: int, depth: int, active: set[int], budget: _Budget
) -> Any:
    """Plain JSON data for ``value`` with strings, items and total size cut to the limits.

    Only the items that survive the cut are converted: containers stop taking items
    once ``budget`` is spent and say how many they left out. Cycles and depth are
    broken (``<max depth>``, ``<circular>``).
    """
    kind = type(value)
    if kind is str:
        out = value if len(value) <= max_str else value[:max_str] + TRUNCATION_MARKER
        budget.left -= len(out) + 3
        return out
    if kind in _SAME_IN_BOTH:
        budget.left -= 2
        return value
    if kind is float:
        budget.left -= 4
        return value if math.isfinite(value) else repr(value)
    if depth >= _MAX_DEPTH:
        budget.left -= 12
        return "<max depth>"
    ident = id(value)
    if ident in active:
        budget.left -= 12
        return "<circular>"
    active.add(ident)
    try:
        value_kind = _kind(value)
        if value_kind == "mapping":
            return _cut_mapping(value, max_str, max_items, depth, active, budget)
        if value_kind == "array" and _has_rows(value):
            size = getattr(value, "size", None)
            if isinstance(size, int) and size <= budget.left:  # small: one tolist() call
                return _cut_tree(value.tolist(), max_str, max_items, depth, active, budget)
            # Iterating an array yields its rows (views) or scalars: nothing is copied.
            return _cut_items(value, len(value), max_str, max_items, depth, active, budget)
        if value_kind == "items":
            return _cut_items(value, len(value), max_str, max_items, depth, active, budget)
        converted = _convert(value, value_kind, budget)
        if isinstance(converted, str):
            return _cut_tree(converted, max_str, max_items, depth, active, budget)
        return _cut_tree(converted, max_str, max_items, depth + 1, active, budget)
    finally:
        active.discard(ident)


def _cut_mapping(
    value: Mapping[Any, Any],
    max_str: int,
    max_items: int,
    depth: int,
    active: set[int],
    budget: _Budget,
) -> dict[str, Any]:
    cut: dict[str, Any] = {}
    taken = 0
    for key, item in islice(value.items(), max_items):
        if budget.left <= 0:
            break
        name = (key if isinstance(key, str) else budget.repr_of(key))[:max_str]
        budget.left -= len(name) + 4
        cut[name] = _cut_tree(item, max_str, max_items, depth + 1, active, budget)
        taken += 1
    if len(value) > taken:
        cut[TRUNCATION_MARKER] = f"{len(value) - taken} more keys"
        budget.left -= 40
    return cut


def _cut_items(
    value: Any,
    total: int,
    max_str: int,
    max_items: int,
    depth: int,
    active: set[int],
    budget: _Budget,
) -> list[Any]:
    cut: list[Any] = []
    for item in islice(value, max_items):
        if budget.left <= 0:
            break
        cut.append(_cut_tree(item, max_str, max_items, depth + 1, active, budget))
        budget.left -= 1
    if total > len(cut):
        cut.append(f"{TRUNCATION_MARKER} {total - len(cut)} more items")
        budget.left -= 40
    return cut


def _convert(value: Any, kind: str, budget: _Budget) -> Any:
    """One step of conversion for a non-JSON value; the result is cut by the caller."""
    converted = attempt(_convert_step, value, kind)  # model_dump/tolist/a user's property
    if converted is _NOT_CONVERTED or isinstance(converted, Failed):
        return budget.repr_of(value)
    return converted


_NOT_CONVERTED = object()


def _convert_step(value: Any, kind: str) -> Any:
    if kind == "array":  # a scalar or 0-d array (arrays with rows are iterated)
        return value.tolist()
    if kind == "pydantic":
        return value.model_dump(mode="json")
    if kind == "dataclass":
        # Shallow: the fields are converted (and cut) one by one, not deep-copied whole.
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if kind == "binary":
        return _describe_binary(value)
    return _NOT_CONVERTED


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
