"""What an evaluation run produced: per case and variant, and summarised per variant.

    result = llmtrace.evaluate(...)
    result.cases                       # [CaseResult, ...] in case order, variant by variant
    result.summary()["v2"].scores["exact"].mean
    result.write_json("run.json"); result.write_markdown("run.md"); print(result.report())
    EvalResult.load("run.json")        # a saved run, e.g. for compare

Plain data only (JSON round-trips exactly), so a saved run and a fresh one compare alike.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FORMAT", "CaseResult", "EvalResult", "ScoreSummary", "VariantSummary", "percentile"]

FORMAT = "llmtrace.eval/1"


@dataclass
class CaseResult:
    """One case under one variant: the output, its scores, and what the trace said."""

    case_id: str
    variant: str
    input: Any = None
    expected: Any = None
    output: Any = None
    error: str | None = None  # the task's exception ("Type: message"); scorers then skipped
    scores: dict[str, float | None] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    explanations: dict[str, str] = field(default_factory=dict)
    score_errors: dict[str, str] = field(default_factory=dict)  # scorer name -> its exception
    # The task's LLM calls; None when unknown (a call without a price or usage, not traced).
    cost_usd: float | None = None
    judge_cost_usd: float | None = None  # the scorers' LLM calls
    input_tokens: int | None = None
    output_tokens: int | None = None
    llm_calls: int | None = None
    latency_s: float | None = None  # the task span's duration
    trace_id: str | None = None
    models: list[str] = field(default_factory=list)  # "requested -> served" seen on LLM spans
    prompts: list[str] = field(default_factory=list)  # "name@version" seen on LLM spans

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaseResult:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class ScoreSummary:
    """A score over the cases of one variant (cases without the score are left out)."""

    mean: float
    stdev: float
    min: float
    max: float
    n: int


@dataclass(frozen=True)
class VariantSummary:
    """One variant's column of the report."""

    cases: int
    errors: int
    scores: dict[str, ScoreSummary]
    cost_per_case_usd: float | None
    total_cost_usd: float | None
    judge_cost_usd: float | None
    input_tokens_per_case: float | None
    output_tokens_per_case: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    score_errors: int = 0
    cost_unknown: int = 0  # cases whose cost is unknown (an unpriced call, not traced)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100), linear between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def summarise(cases: Sequence[CaseResult]) -> VariantSummary:
    names: dict[str, None] = {}
    for case in cases:
        for name in case.scores:
            names.setdefault(name)
    scores = {}
    for name in names:
        values = [float(v) for c in cases if (v := c.scores.get(name)) is not None]
        if values:
            scores[name] = ScoreSummary(
                mean=math.fsum(values) / len(values),
                stdev=statistics.pstdev(values) if len(values) > 1 else 0.0,
                min=min(values),
                max=max(values),
                n=len(values),
            )
    known = [c.cost_usd for c in cases if c.cost_usd is not None]
    judge = [c.judge_cost_usd for c in cases if c.judge_cost_usd is not None]
    latencies = [c.latency_s for c in cases if c.latency_s is not None]
    return VariantSummary(
        cases=len(cases),
        errors=sum(1 for c in cases if c.error is not None),
        scores=scores,
        cost_per_case_usd=_mean(known),
        total_cost_usd=math.fsum(known) if known else None,
        judge_cost_usd=math.fsum(judge) if judge else None,
        input_tokens_per_case=_mean([c.input_tokens for c in cases if c.input_tokens is not None]),
        output_tokens_per_case=_mean(
            [c.output_tokens for c in cases if c.output_tokens is not None]
        ),
        latency_p50_s=percentile(latencies, 50),
        latency_p95_s=percentile(latencies, 95),
        score_errors=sum(len(c.score_errors) for c in cases),
        cost_unknown=len(cases) - len(known),
    )


class EvalResult:
    """An evaluation run: its record (``run``), every ``CaseResult`` and per-variant summaries."""

    def __init__(self, name: str, run: Mapping[str, Any], cases: Sequence[CaseResult]) -> None:
        self.name = name
        self.run: dict[str, Any] = dict(run)
        self.cases = list(cases)

    def __repr__(self) -> str:
        return (
            f"EvalResult(name={self.name!r}, variants={self.variants}, cases={len(self.cases)}, "
            f"errors={len(self.errors)})"
        )

    @property
    def variants(self) -> list[str]:
        """Variant labels, in the order they were given."""
        return list(dict.fromkeys(c.variant for c in self.cases))

    @property
    def errors(self) -> list[CaseResult]:
        """The cases whose task raised."""
        return [c for c in self.cases if c.error is not None]

    def for_variant(self, label: str) -> list[CaseResult]:
        return [c for c in self.cases if c.variant == label]

    def summary(self) -> dict[str, VariantSummary]:
        """Per variant: score mean/stdev/min/max, cost per case, tokens, p50/p95 latency, errors."""
        return {label: summarise(self.for_variant(label)) for label in self.variants}

    # -- files ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "name": self.name,
            "run": self.run,
            "summary": {label: asdict(s) for label, s in self.summary().items()},
            "cases": [asdict(c) for c in self.cases],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)

    def write_json(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.to_json() + "\n", encoding="utf-8")
        return target

    def report(self, *, color: bool = False) -> str:
        """The terminal table: variants side by side."""
        from ._report import terminal_report

        return terminal_report(self, color=color)

    def to_markdown(self) -> str:
        from ._report import markdown_report

        return markdown_report(self)

    def write_markdown(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.to_markdown(), encoding="utf-8")
        return target

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalResult:
        if data.get("format") != FORMAT:
            raise ValueError(
                f"not an llmtrace evaluation run (format {data.get('format')!r}, "
                f"expected {FORMAT!r})"
            )
        cases = [CaseResult.from_dict(c) for c in data.get("cases", [])]
        return cls(str(data.get("name", "")), data.get("run", {}), cases)

    @classmethod
    def load(cls, path: str | Path) -> EvalResult:
        """A run saved with ``write_json``."""
        with open(path, encoding="utf-8") as file:
            return cls.from_dict(json.load(file))
