"""``python -m llmtrace.eval``: compare two saved runs (CI gate), or print a saved run.

    python -m llmtrace.eval compare base.json new.json --max-score-drop 0.05 --max-cost-increase 10%
    python -m llmtrace.eval report run.json [--markdown run.md]

``compare`` exits 0 when nothing regressed, 1 on a regression, 2 on bad
arguments or unreadable files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._compare import compare, parse_limit
from ._result import EvalResult


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _pair(text: str) -> tuple[str, str]:
    base, sep, new = text.partition("=")
    if not sep or not base or not new:
        raise argparse.ArgumentTypeError(f"expected BASE=NEW, got {text!r}")
    return base, new


def _limit(text: str) -> str:
    parse_limit(text)  # raises ValueError -> argparse reports it
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m llmtrace.eval", description="compare or print llmtrace evaluation runs"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    cmp = commands.add_parser("compare", help="compare two runs; exit 1 on a regression")
    cmp.add_argument("base", help="the baseline run (JSON written by EvalResult.write_json)")
    cmp.add_argument("new", help="the run to check")
    cmp.add_argument(
        "--max-score-drop",
        type=float,
        default=0.0,
        metavar="X",
        help="largest allowed drop of a score's mean (default 0: any drop fails)",
    )
    cmp.add_argument(
        "--max-cost-increase",
        type=_limit,
        metavar="LIMIT",
        help="largest allowed growth of cost per case: 10%% or an amount in USD",
    )
    cmp.add_argument(
        "--max-latency-increase",
        type=_limit,
        metavar="LIMIT",
        help="largest allowed growth of p95 latency: 20%% or seconds",
    )
    cmp.add_argument(
        "--max-error-increase",
        type=int,
        default=0,
        metavar="N",
        help="how many more failing cases are allowed (default 0)",
    )
    cmp.add_argument(
        "--pair",
        type=_pair,
        action="append",
        metavar="BASE=NEW",
        help="compare variant BASE of the base run with NEW of the new run (repeatable)",
    )
    rep = commands.add_parser("report", help="print a saved run as the terminal table")
    rep.add_argument("run")
    rep.add_argument("--markdown", metavar="PATH", help="also write the Markdown report here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "report":
            result = EvalResult.load(args.run)
            _out(result.report())
            if args.markdown:
                result.write_markdown(args.markdown)
            return 0
        base, new = EvalResult.load(args.base), EvalResult.load(args.new)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    comparison = compare(
        base,
        new,
        max_score_drop=args.max_score_drop,
        max_cost_increase=args.max_cost_increase,
        max_latency_increase=args.max_latency_increase,
        max_error_increase=args.max_error_increase,
        pairs=args.pair,
    )
    _out(f"compare {args.base} -> {args.new}")
    _out(comparison.text())
    return 0 if comparison.ok else 1


if __name__ == "__main__":
    sys.exit(main())
