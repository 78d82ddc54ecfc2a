"""The report: variants side by side, as a terminal table or Markdown.

    print(result.report())              # terminal
    result.write_markdown("eval.md")    # e.g. for a CI job summary or a PR comment

Rows: each score (mean ± spread, over the cases that have it), cost per case,
judge cost, tokens per case, p50/p95 latency of the task, errors; then the
models and prompt versions seen on the spans.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the result imports this module to render itself
    from ._result import EvalResult, VariantSummary

__all__ = ["format_cost", "format_seconds", "markdown_report", "terminal_report"]

_MAX_LISTED_ERRORS = 20


def format_cost(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"${value:.6f}" if value < 1 else f"${value:,.2f}"


def format_seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _cost(value: float | None, summary: VariantSummary) -> str:
    """A cost over the cases whose cost is known, saying how many are not."""
    unknown = summary.cost_unknown
    if not unknown or value is None:
        return format_cost(value)
    return f"{format_cost(value)} ({unknown} n/a)"


def _tokens(summary: VariantSummary) -> str:
    if summary.input_tokens_per_case is None:
        return "n/a"
    return f"{summary.input_tokens_per_case:.1f} / {summary.output_tokens_per_case or 0:.1f}"


def _rows(result: EvalResult) -> list[tuple[str, list[str]]]:
    summaries = result.summary()
    columns = list(summaries.values())
    names: dict[str, None] = {}
    for summary in columns:
        for name in summary.scores:
            names.setdefault(name)
    rows: list[tuple[str, list[str]]] = []
    for name in names:
        cells = []
        for summary in columns:
            score = summary.scores.get(name)
            cells.append(
                "n/a" if score is None else f"{score.mean:.3f} ± {score.stdev:.3f} (n={score.n})"
            )
        rows.append((name, cells))
    rows += [
        ("cost / case", [_cost(s.cost_per_case_usd, s) for s in columns]),
        ("cost total", [_cost(s.total_cost_usd, s) for s in columns]),
    ]
    if any(s.judge_cost_usd for s in columns):
        rows.append(("judge cost total", [format_cost(s.judge_cost_usd) for s in columns]))
    rows += [
        ("tokens in / out per case", [_tokens(s) for s in columns]),
        ("latency p50", [format_seconds(s.latency_p50_s) for s in columns]),
        ("latency p95", [format_seconds(s.latency_p95_s) for s in columns]),
        ("errors", [f"{s.errors} / {s.cases}" for s in columns]),
    ]
    if any(s.score_errors for s in columns):
        rows.append(("scorer errors", [str(s.score_errors) for s in columns]))
    variants = result.run.get("variants", {})
    for key, title in (("models", "models"), ("prompts", "prompts")):
        cells = [", ".join(variants.get(label, {}).get(key, [])) or "-" for label in summaries]
        if any(cell != "-" for cell in cells):
            rows.append((title, cells))
    return rows


def _title(result: EvalResult) -> str:
    run = result.run
    variants = result.variants
    return (
        f"eval {result.name} · {run.get('cases', '?')} case{'s' * (run.get('cases') != 1)} x "
        f"{len(variants)} "
        f"variant{'s' * (len(variants) != 1)} · seed {run.get('seed')} · dataset "
        f"{run.get('dataset_hash')} · llmtrace {run.get('llmtrace_version')}"
    )


def terminal_report(result: EvalResult, *, color: bool = False) -> str:
    """Variants as columns, metrics as rows, plain text (bold headers with ``color``)."""
    rows = _rows(result)
    header = ["", *result.variants]
    table = [header] + [[label, *cells] for label, cells in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    bold, reset = ("\033[1m", "\033[0m") if color else ("", "")
    lines = [bold + _title(result) + reset, ""]
    for index, row in enumerate(table):
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        line = "  ".join(cells).rstrip()
        lines.append(bold + line + reset if index == 0 else line)
    errors = result.errors
    if errors:
        lines += ["", "errors:"]
        lines += [f"  {c.variant} / {c.case_id}: {c.error}" for c in errors[:_MAX_LISTED_ERRORS]]
        if len(errors) > _MAX_LISTED_ERRORS:
            lines.append(f"  ... and {len(errors) - _MAX_LISTED_ERRORS} more")
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_report(result: EvalResult) -> str:
    """The same table as Markdown, with the run's record below it."""
    rows = _rows(result)
    run = result.run
    lines = [
        f"## Evaluation `{_md(result.name)}`",
        "",
        "| | " + " | ".join(f"`{_md(v)}`" for v in result.variants) + " |",
        "|---|" + "---:|" * len(result.variants),
    ]
    lines += [f"| {_md(label)} | " + " | ".join(map(_md, cells)) + " |" for label, cells in rows]
    lines += [
        "",
        f"- cases: {run.get('cases')}, dataset hash `{run.get('dataset_hash')}`, "
        f"seed {run.get('seed')}",
        f"- llmtrace {run.get('llmtrace_version')}, Python {run.get('python')}, "
        f"run `{run.get('run_id')}` started {run.get('started_at')}",
    ]
    for scorer in run.get("scorers", []):
        details = ", ".join(f"{k} `{v}`" for k, v in scorer.items() if k != "name")
        lines.append(f"- scorer `{_md(str(scorer.get('name')))}`: {_md(details)}")
    errors = result.errors
    if errors:
        lines += ["", "### Errors", "", "| variant | case | error |", "|---|---|---|"]
        lines += [
            f"| `{_md(c.variant)}` | `{_md(c.case_id)}` | {_md(c.error or '')} |"
            for c in errors[:_MAX_LISTED_ERRORS]
        ]
    return "\n".join(lines) + "\n"
