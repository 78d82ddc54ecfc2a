"""Compare two saved runs and decide whether the new one regressed (for CI).

    python -m llmtrace.eval compare base.json new.json --max-score-drop 0.05 --max-cost-increase 10%

    comparison = compare(base, new, max_score_drop=0.05, max_cost_increase="10%")
    print(comparison.text()); sys.exit(0 if comparison.ok else 1)

Variants are paired by label; when the two runs share no label and each has
one variant, those two are paired (a prompt edit changes a ``name@version``
label). ``pairs=[("v1", "v2")]`` pairs explicitly, also within one file.

Checked, per pair: every score's mean may drop by at most ``max_score_drop``
(default 0: any drop fails; a score missing from the new run fails); errors may
grow by at most ``max_error_increase`` (default 0). Cost per case
(``"10%"`` relative or ``0.001`` USD absolute) and p95 latency (same forms,
seconds) are checked only when a limit is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._report import format_cost, format_seconds
from ._result import EvalResult, VariantSummary

__all__ = ["Comparison", "Difference", "Limit", "compare", "parse_limit"]


@dataclass(frozen=True)
class Limit:
    """How much a metric may grow: a fraction of the base (``relative``) or an amount."""

    amount: float
    relative: bool

    def exceeded(self, base: float, new: float) -> bool:
        allowed = base * (1 + self.amount) if self.relative else base + self.amount
        return new > allowed + 1e-12

    def __str__(self) -> str:
        return f"+{self.amount * 100:g}%" if self.relative else f"+{self.amount:g}"


def parse_limit(text: str | float | Limit | None) -> Limit | None:
    """``"10%"`` -> relative 0.10; ``"0.002"``, ``"$0.002"`` or ``0.002`` -> absolute."""
    if text is None or isinstance(text, Limit):
        return text
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        amount, relative = float(text), False
    elif isinstance(text, str):
        raw = text.strip().lstrip("$").strip()
        relative = raw.endswith("%")
        try:
            amount = float(raw.rstrip("%")) / (100 if relative else 1)
        except ValueError:
            raise ValueError(f"not a limit: {text!r} (use e.g. 10% or 0.002)") from None
    else:
        raise TypeError(f"not a limit: {text!r}")
    if not amount >= 0:
        raise ValueError(f"a limit must be >= 0, got {text!r}")
    return Limit(amount, relative)


@dataclass(frozen=True)
class Difference:
    """One metric of one variant pair: base and new values, and whether it regressed."""

    variant: str
    metric: str
    base: str
    new: str
    change: str
    limit: str
    regression: bool


@dataclass
class Comparison:
    differences: list[Difference]
    problems: list[str]  # pairs that could not be made, and the like

    @property
    def regressions(self) -> list[Difference]:
        return [d for d in self.differences if d.regression]

    @property
    def ok(self) -> bool:
        return not self.regressions and not self.problems

    def text(self) -> str:
        header = ("variant", "metric", "base", "new", "change", "limit", "")
        rows = [header] + [
            (d.variant, d.metric, d.base, d.new, d.change, d.limit, "REGRESSION" * d.regression)
            for d in self.differences
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
        lines += [f"problem: {p}" for p in self.problems]
        count = len(self.regressions) + len(self.problems)
        lines.append("no regression" if self.ok else f"{count} regression(s)")
        return "\n".join(lines)


def _pairs(
    base: EvalResult, new: EvalResult, pairs: Sequence[tuple[str, str]] | None
) -> tuple[list[tuple[str, str]], list[str]]:
    if pairs:
        problems = [f"base has no variant {b!r}" for b, _ in pairs if b not in base.variants]
        problems += [f"new has no variant {n!r}" for _, n in pairs if n not in new.variants]
        return list(pairs), problems
    common = [label for label in base.variants if label in new.variants]
    if common:
        missing = [label for label in base.variants if label not in new.variants]
        return [(label, label) for label in common], [
            f"variant {label!r} is missing from the new run" for label in missing
        ]
    if len(base.variants) == 1 and len(new.variants) == 1:
        return [(base.variants[0], new.variants[0])], []
    return [], ["the runs share no variant label; pair them with --pair BASE=NEW"]


def compare(
    base: EvalResult,
    new: EvalResult,
    *,
    max_score_drop: float = 0.0,
    max_cost_increase: str | float | Limit | None = None,
    max_latency_increase: str | float | Limit | None = None,
    max_error_increase: int = 0,
    pairs: Sequence[tuple[str, str]] | None = None,
) -> Comparison:
    """The differences between two runs, each marked when it is past its limit."""
    if not max_score_drop >= 0:
        raise ValueError(f"max_score_drop must be >= 0, got {max_score_drop!r}")
    cost_limit = parse_limit(max_cost_increase)
    latency_limit = parse_limit(max_latency_increase)
    matched, problems = _pairs(base, new, pairs)
    base_summary, new_summary = base.summary(), new.summary()
    differences: list[Difference] = []
    for base_label, new_label in matched:
        if base_label not in base_summary or new_label not in new_summary:
            continue
        label = base_label if base_label == new_label else f"{base_label} -> {new_label}"
        old, now = base_summary[base_label], new_summary[new_label]
        differences += _score_differences(label, old, now, max_score_drop)
        differences.append(_errors(label, old, now, max_error_increase))
        differences.append(
            _growth(
                label,
                "cost / case",
                old.cost_per_case_usd,
                now.cost_per_case_usd,
                cost_limit,
                format_cost,
            )
        )
        differences.append(
            _growth(
                label,
                "latency p95",
                old.latency_p95_s,
                now.latency_p95_s,
                latency_limit,
                format_seconds,
            )
        )
    return Comparison(differences, problems)


def _score_differences(
    label: str, old: VariantSummary, now: VariantSummary, max_drop: float
) -> list[Difference]:
    found = []
    for name, before in old.scores.items():
        after = now.scores.get(name)
        if after is None:
            found.append(
                Difference(label, name, f"{before.mean:.3f}", "missing", "", f"-{max_drop:g}", True)
            )
            continue
        change = after.mean - before.mean
        found.append(
            Difference(
                label,
                name,
                f"{before.mean:.3f}",
                f"{after.mean:.3f}",
                f"{change:+.3f}",
                f"-{max_drop:g}",
                change < -max_drop - 1e-12,
            )
        )
    return found


def _errors(label: str, old: VariantSummary, now: VariantSummary, allowed: int) -> Difference:
    grew = now.errors - old.errors
    return Difference(
        label,
        "errors",
        f"{old.errors}/{old.cases}",
        f"{now.errors}/{now.cases}",
        f"{grew:+d}",
        f"+{allowed}",
        grew > allowed,
    )


def _growth(
    label: str,
    metric: str,
    before: float | None,
    after: float | None,
    limit: Limit | None,
    show: object,
) -> Difference:
    fmt = show if callable(show) else str
    change = ""
    if before is not None and after is not None:
        change = f"{(after - before) / before * 100:+.1f}%" if before else f"{after - before:+g}"
    regression = False
    if limit is not None:
        if before is None or after is None:
            regression = after is None and before is not None  # became unknown
        else:
            regression = limit.exceeded(before, after)
    return Difference(
        label, metric, fmt(before), fmt(after), change, str(limit) if limit else "-", regression
    )
