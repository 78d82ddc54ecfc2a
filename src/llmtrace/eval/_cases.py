"""Cases, variants and how the task and scorers are called: plain data in, plain data out.

    cases = normalise_cases([{"input": "2+2?", "expected": "4"}, "just an input"])
    variants = normalise_variants([PROMPT_V1, PROMPT_V2])      # or {"label": value, ...}
    call = Signature.of(task, TASK_ARGUMENTS, "task")          # inspected once
    call.arguments({"input": ..., "variant": ...})             # what to pass it

Nothing here touches spans; ``_runner`` does.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._errors import attempt
from .._prompts.prompt import Prompt

__all__ = [
    "SCORER_ARGUMENTS",
    "TASK_ARGUMENTS",
    "Case",
    "Score",
    "Signature",
    "Variant",
    "dataset_hash",
    "normalise_cases",
    "normalise_variants",
    "plain",
    "scores_from",
]

# The names a task and a scorer may ask for, by parameter name.
TASK_ARGUMENTS = ("input", "variant", "metadata", "case", "seed")
SCORER_ARGUMENTS = ("input", "output", "expected", "metadata", "case", "variant", "seed")
_TEXT_LIMIT = 10_000


@dataclass(frozen=True)
class Case:
    """One evaluation case: what the task gets (``input``) and what a good answer is."""

    input: Any
    expected: Any = None
    id: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:  # pytest ids and messages
        return self.id if self.id is not None else repr(self.input)[:40]


@dataclass(frozen=True)
class Variant:
    """A variant under evaluation: its label and the value the task receives."""

    label: str
    value: Any
    prompt: Prompt | None = None

    def describe(self) -> dict[str, Any]:
        """What a report records about it (prompt name, version and hash when a Prompt)."""
        described: dict[str, Any] = {"value": plain(self.value, 200)}
        if self.prompt is not None:
            described["prompt"] = {
                "name": self.prompt.name,
                "version": self.prompt.version,
                "template_hash": self.prompt.template_hash,
            }
        return described


NO_VARIANT = Variant("default", None)


def normalise_cases(cases: Iterable[Any]) -> list[Case]:
    """``Case`` objects with unique ids (``"0"``, ``"1"``, ... where none was given).

    An item may be a ``Case``, a mapping with an ``"input"`` key (and optionally
    ``"expected"``, ``"id"``, ``"metadata"``), or any other value, taken as the input.
    """
    if isinstance(cases, (str, bytes, Mapping)):
        raise TypeError("cases must be a sequence of cases, not a single str or mapping")
    result: list[Case] = []
    for index, item in enumerate(cases):
        case = _case(item)
        if case.id is None:
            case = Case(case.input, case.expected, str(index), case.metadata)
        result.append(case)
    seen: set[str] = set()
    for case in result:
        if case.id in seen:
            raise ValueError(f"two cases have the id {case.id!r}; case ids must be unique")
        seen.add(str(case.id))
    if not result:
        raise ValueError("no cases given")
    return result


def _case(item: Any) -> Case:
    if isinstance(item, Case):
        return item
    if isinstance(item, Mapping) and "input" in item:
        unknown = set(item) - {"input", "expected", "id", "metadata"}
        if unknown:
            raise ValueError(
                f"a case mapping takes input, expected, id and metadata; got also {sorted(unknown)}"
            )
        case_id = item.get("id")
        return Case(
            item["input"],
            item.get("expected"),
            None if case_id is None else str(case_id),
            dict(item.get("metadata") or {}),
        )
    return Case(item)


def normalise_variants(variants: Sequence[Any] | Mapping[str, Any] | None) -> list[Variant]:
    """Labelled variants; a ``Prompt`` is labelled ``variant`` or ``name@version``."""
    if variants is None:
        return [NO_VARIANT]
    if isinstance(variants, Mapping):
        pairs = [(str(label), value) for label, value in variants.items()]
    elif isinstance(variants, Sequence) and not isinstance(variants, (str, bytes)):
        pairs = [(_label(value), value) for value in variants]
    else:
        raise TypeError("variants must be a sequence of values or a mapping label -> value")
    if not pairs:
        raise ValueError("variants is empty; leave it out to evaluate the task as it is")
    labels = [label for label, _ in pairs]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ValueError(f"variant labels must be unique; repeated: {duplicates}")
    return [
        Variant(label, value, value if isinstance(value, Prompt) else None)
        for label, value in pairs
    ]


def _label(value: Any) -> str:
    if isinstance(value, Prompt):
        return value.variant or f"{value.name}@{value.version}"
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise TypeError(
        f"cannot label a variant of type {type(value).__name__}; give variants as a "
        "mapping label -> value"
    )


def plain(value: Any, limit: int = _TEXT_LIMIT) -> Any:
    """``value`` as JSON data (strings cut at ``limit`` characters; other objects by repr)."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=_fallback)
        data = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        data = _fallback(value)
    return _cut(data, limit)


def _fallback(value: Any) -> str:
    text = attempt(repr, value)  # a user object's repr may raise
    return text if isinstance(text, str) else f"<{type(value).__name__}>"


def _cut(data: Any, limit: int) -> Any:
    if isinstance(data, str):
        return data if len(data) <= limit else data[:limit] + "…"
    if isinstance(data, list):
        return [_cut(item, limit) for item in data]
    if isinstance(data, dict):
        return {key: _cut(item, limit) for key, item in data.items()}
    return data


def dataset_hash(cases: Sequence[Case]) -> str:
    """16 hex digits of a SHA-256 over the cases' ids, inputs, expected values, metadata."""
    canonical = [
        {
            "id": c.id,
            "input": plain(c.input),
            "expected": plain(c.expected),
            "metadata": plain(dict(c.metadata)),
        }
        for c in cases
    ]
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Signature:
    """Which of the offered arguments a function takes, decided once from its parameters.

    Parameters named like an offered argument get it; a first positional parameter
    with another name gets the first offered one (``input`` for a task, ``output``
    for a scorer); ``**kwargs`` gets everything.
    """

    func: Callable[..., Any]
    names: tuple[str, ...]
    renamed: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, func: Callable[..., Any], offered: Sequence[str], what: str) -> Signature:
        if not callable(func):
            raise TypeError(f"{what} must be callable, got {type(func).__name__}")
        first = offered[0] if what == "task" else "output"
        try:
            parameters = list(inspect.signature(func).parameters.values())
        except (TypeError, ValueError):  # a builtin without a signature: give it the first
            return cls(func, (), ((first, first),))
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return cls(func, tuple(offered))
        names: list[str] = []
        renamed: list[tuple[str, str]] = []
        for index, parameter in enumerate(parameters):
            if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                continue
            by_name = parameter.kind is not inspect.Parameter.POSITIONAL_ONLY
            if parameter.name in offered and by_name:
                names.append(parameter.name)
            elif index == 0 and first not in [p.name for p in parameters]:
                renamed.append((first, parameter.name))
            elif parameter.default is inspect.Parameter.empty:
                raise TypeError(
                    f"{what} {_name(func)}: parameter {parameter.name!r} is not one of "
                    f"{', '.join(offered)} (name parameters after what they should receive)"
                )
        return cls(func, tuple(names), tuple(renamed))

    def takes(self, name: str) -> bool:
        return name in self.names or any(source == name for source, _ in self.renamed)

    def call(self, available: Mapping[str, Any]) -> Any:
        positional = [available[source] for source, _ in self.renamed]
        return self.func(*positional, **{name: available[name] for name in self.names})


def _name(func: Callable[..., Any]) -> str:
    return str(getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or func)


def function_name(func: Callable[..., Any], default: str) -> str:
    """A short name for a task or scorer: its ``name`` attribute, ``__name__`` or ``default``."""
    name = getattr(func, "name", None)
    if isinstance(name, str) and name:
        return name
    name = getattr(func, "__name__", None)
    if isinstance(name, str) and name and name != "<lambda>":
        return name
    return default


@dataclass(frozen=True)
class Score:
    """What a scorer may return instead of a bare number: a value, a label, a reason.

    ``name`` overrides the scorer's name (a scorer returning several ``Score`` objects,
    or a mapping name -> value, gives several scores).
    """

    value: float | None
    label: str | None = None
    explanation: str | None = None
    name: str | None = None


def scores_from(returned: Any, default_name: str) -> list[tuple[str, Score]]:
    """A scorer's return value as (name, Score) pairs; None means "no score for this case"."""
    if returned is None:
        return []
    if isinstance(returned, Score):
        name = returned.name or default_name
        if returned.value is None:
            return [(name, returned)]
        value = _score_value(returned.value, name)
        return [(name, Score(value, returned.label, returned.explanation, name))]
    if isinstance(returned, Mapping):
        pairs: list[tuple[str, Score]] = []
        for key, value in returned.items():
            pairs.extend(scores_from(value, str(key)))
        return pairs
    if isinstance(returned, (list, tuple)):
        return [pair for item in returned for pair in scores_from(item, default_name)]
    return [(default_name, Score(_score_value(returned, default_name)))]


def _score_value(value: Any, name: str) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    raise TypeError(
        f"scorer {name!r} returned {value!r:.80}; return a finite number, a bool, None, "
        "an llmtrace.eval.Score, or a mapping name -> one of those"
    )
