"""Run a task over cases and variants, score it, and read each case's trace.

    result = llmtrace.evaluate(cases, task, scorers=[exact, judge], variants=[V1, V2])
    result = await llmtrace.eval.aevaluate(...)          # the same, from async code

One async core runs everything: sync tasks and scorers go to a thread pool (with
the context copied, so their spans nest), async ones are awaited; at most
``concurrency`` cases run at once. Each case and variant is one trace::

    eval <name>                 (root: case id, variant, run id, dataset hash, seed;
    ├── <task>                   the scores land here as gen_ai.evaluation.result events)
    │   └── chat <model>        the task's LLM calls (their cost rolls up to <task>)
    └── score <scorer>          each scorer; a judge's LLM calls beneath, priced alike

A task raising is recorded for that case (scorers are skipped) and the run goes
on; so does a scorer raising. Only bad arguments to ``evaluate`` itself raise.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime
import inspect
import math
import platform
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from .. import semconv
from .._errors import Failed, attempt_async, internal_errors
from .._evaluation import record_score
from .._prompts.prompt import choose_variant, use_prompt
from .._runtime import VERSION
from .._spans import TracedSpan, describe_exception, span
from ._cases import (
    NO_VARIANT,
    SCORER_ARGUMENTS,
    TASK_ARGUMENTS,
    Case,
    Signature,
    Variant,
    dataset_hash,
    function_name,
    normalise_cases,
    normalise_variants,
    plain,
    scores_from,
)
from ._collector import SpanCollector, TraceStats, run_tracing
from ._result import CaseResult, EvalResult

__all__ = ["aevaluate", "evaluate"]


@dataclass
class _Scorer:
    name: str
    signature: Signature
    is_async: bool
    source: str
    description: dict[str, Any]


@dataclass
class _Plan:
    name: str
    cases: list[Case]
    variants: list[Variant]
    task: Signature
    task_name: str
    task_async: bool
    scorers: list[_Scorer]
    seed: int
    concurrency: int
    progress: bool
    metadata: dict[str, Any]
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    dataset_hash: str = ""


def evaluate(
    cases: Iterable[Any],
    task: Callable[..., Any],
    scorers: Sequence[Callable[..., Any]] = (),
    *,
    name: str | None = None,
    variants: Sequence[Any] | Mapping[str, Any] | None = None,
    concurrency: int = 4,
    seed: int = 0,
    progress: bool | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> EvalResult:
    """Run ``task`` on every case (once per variant), score it, and return the result.

    ``cases``: ``Case`` objects, mappings with ``input`` (and ``expected``, ``id``,
    ``metadata``), or bare inputs. ``task`` and ``scorers`` are sync or async functions
    that receive the arguments they name (a task: ``input``, ``variant``, ``metadata``,
    ``case``, ``seed``; a scorer also ``output`` and ``expected``); a scorer returns a
    number, a bool, ``None``, a ``Score`` or a mapping of those. ``variants``: values the
    task receives as ``variant`` (``Prompt`` objects are also linked to its LLM calls),
    or a mapping label -> value. From async code use ``aevaluate``.
    """
    plan = _plan(cases, task, scorers, name, variants, concurrency, seed, progress, metadata)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_run(plan))
    # Called from inside an event loop (a notebook, an async test): run on a thread of
    # our own with its own loop rather than fail.
    context = contextvars.copy_context()
    with ThreadPoolExecutor(1, thread_name_prefix="llmtrace-eval") as pool:
        return pool.submit(context.run, asyncio.run, _run(plan)).result()


async def aevaluate(
    cases: Iterable[Any],
    task: Callable[..., Any],
    scorers: Sequence[Callable[..., Any]] = (),
    *,
    name: str | None = None,
    variants: Sequence[Any] | Mapping[str, Any] | None = None,
    concurrency: int = 4,
    seed: int = 0,
    progress: bool | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> EvalResult:
    """``evaluate`` for async code: the same arguments and result."""
    plan = _plan(cases, task, scorers, name, variants, concurrency, seed, progress, metadata)
    return await _run(plan)


def _plan(
    cases: Iterable[Any],
    task: Callable[..., Any],
    scorers: Sequence[Callable[..., Any]],
    name: str | None,
    variants: Sequence[Any] | Mapping[str, Any] | None,
    concurrency: int,
    seed: int,
    progress: bool | None,
    metadata: Mapping[str, Any] | None,
) -> _Plan:
    """Check everything before the first case runs; bad arguments raise here."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}")
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"name must be a non-empty str, got {name!r}")
    normalised = normalise_cases(cases)
    labelled = normalise_variants(variants)
    signature = Signature.of(task, TASK_ARGUMENTS, "task")
    if variants is not None and not signature.takes("variant"):
        raise TypeError(
            f"variants were given, but task {function_name(task, 'task')} has no 'variant' "
            "parameter to receive them"
        )
    if isinstance(scorers, (str, bytes)) or not isinstance(scorers, Sequence):
        raise TypeError("scorers must be a list of functions")
    checked = [_scorer(s, index) for index, s in enumerate(scorers)]
    names = [s.name for s in checked]
    if len(set(names)) != len(names):
        raise ValueError(f"scorer names must be unique, got {names}")
    task_name = function_name(task, "task")
    plan = _Plan(
        name=name or task_name,
        cases=normalised,
        variants=labelled,
        task=signature,
        task_name=task_name,
        task_async=_is_async(task),
        scorers=checked,
        seed=seed,
        concurrency=concurrency,
        progress=sys.stderr.isatty() if progress is None else bool(progress),
        metadata=dict(metadata or {}),
    )
    plan.dataset_hash = dataset_hash(normalised)
    return plan


def _scorer(func: Callable[..., Any], index: int) -> _Scorer:
    name = function_name(func, f"score_{index}")
    source = getattr(func, "source", "code")
    describe = getattr(func, "describe", None)
    return _Scorer(
        name=name,
        signature=Signature.of(func, SCORER_ARGUMENTS, "scorer"),
        is_async=_is_async(func),
        source=source if source in ("code", "llm_judge", "human") else "code",
        description=describe() if callable(describe) else {"name": name, "source": source},
    )


def _is_async(func: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - an instance with an async __call__
    )


# -- the run --------------------------------------------------------------------------------


async def _run(plan: _Plan) -> EvalResult:
    started = datetime.datetime.now(datetime.timezone.utc)
    clock = time.perf_counter()
    pairs = [(case, variant) for variant in plan.variants for case in plan.cases]
    bar = _Progress(plan.name, len(pairs), plan.progress)
    semaphore = asyncio.Semaphore(plan.concurrency)
    with (
        run_tracing() as collector,
        ThreadPoolExecutor(plan.concurrency, thread_name_prefix="llmtrace-eval") as pool,
    ):
        runner = _CaseRunner(plan, collector, pool)

        async def one(case: Case, variant: Variant) -> CaseResult:
            async with semaphore:
                result = await runner.run(case, variant)
            bar.advance(result.error is not None)
            return result

        try:
            results = await asyncio.gather(*(one(c, v) for c, v in pairs))
        finally:
            bar.close()
    run = _run_record(plan, results, started, time.perf_counter() - clock)
    return EvalResult(plan.name, run, results)


class _CaseRunner:
    """Runs one case under one variant as one trace."""

    def __init__(
        self, plan: _Plan, collector: SpanCollector | None, pool: ThreadPoolExecutor
    ) -> None:
        self.plan = plan
        self.collector = collector
        self.pool = pool

    async def run(self, case: Case, variant: Variant) -> CaseResult:
        plan = self.plan
        result = CaseResult(case.id or "", variant.label, plain(case.input), plain(case.expected))
        attributes: dict[str, AttributeValue] = {
            semconv.LLMTRACE_EVAL_NAME: plan.name,
            semconv.LLMTRACE_EVAL_RUN_ID: plan.run_id,
            semconv.LLMTRACE_EVAL_CASE_ID: result.case_id,
            semconv.LLMTRACE_EVAL_VARIANT: variant.label,
            semconv.LLMTRACE_EVAL_DATASET_HASH: plan.dataset_hash,
            semconv.LLMTRACE_EVAL_SEED: plan.seed,
        }
        offered: dict[str, Any] = {
            "input": case.input,
            "expected": case.expected,
            "metadata": case.metadata,
            "case": case,
            "variant": variant.value,
            "seed": plan.seed,
        }
        # A new trace per case, even when evaluate() runs inside a span.
        token = otel_context.attach(trace.set_span_in_context(trace.INVALID_SPAN))
        trace_id = 0
        started = time.perf_counter()
        try:
            with span(f"eval {plan.name}", kind="task", attributes=attributes) as root:
                trace_id = self._open(root)
                if variant is not NO_VARIANT:
                    with internal_errors:
                        choose_variant(plan.name, [variant.label], key=result.case_id)
                root.set_input(case.input)
                await self._task(trace_id, variant, offered, result)
                root.set_output(result.output)
                if result.error is None:  # scorers get the task's own output, not the copy
                    for scorer in plan.scorers:
                        await self._score(root, trace_id, scorer, offered, result)
        finally:
            otel_context.detach(token)
        result.latency_s = time.perf_counter() - started  # replaced by the task span's
        if trace_id:
            result.trace_id = format(trace_id, "032x")
        if trace_id and self.collector is not None:
            stats = self.collector.close(trace_id)
            if stats is not None:
                with internal_errors:
                    _fill(result, stats)
        return result

    def _open(self, root: TracedSpan) -> int:
        """The case's trace id (0 when it is not recorded); the collector starts reading it."""
        context = root.span_context
        if not root.is_recording or not context.is_valid:
            return 0
        if self.collector is not None:
            self.collector.open(context.trace_id)
        return context.trace_id

    def _expect(self, trace_id: int, traced: TracedSpan, role: str) -> None:
        if trace_id and self.collector is not None:
            self.collector.expect(trace_id, traced.span_context.span_id, role)

    async def _task(
        self,
        trace_id: int,
        variant: Variant,
        offered: dict[str, Any],
        result: CaseResult,
    ) -> None:
        plan = self.plan
        arguments = {name: offered[name] for name in TASK_ARGUMENTS}
        linked = use_prompt(variant.prompt) if variant.prompt is not None else nullcontext()

        async def run_task() -> Any:
            with span(plan.task_name, kind="task") as traced:
                self._expect(trace_id, traced, "task")
                traced.set_input(offered["input"])
                with linked:
                    output = await self._call(plan.task, plan.task_async, arguments)
                traced.set_output(output)
            return output

        output = await attempt_async(run_task)
        if isinstance(output, Failed):  # the task's failure is this case's result
            result.error = describe_exception(output.error)
            return
        result.output = plain(output)
        offered["output"] = output

    async def _score(
        self,
        root: TracedSpan,
        trace_id: int,
        scorer: _Scorer,
        offered: dict[str, Any],
        result: CaseResult,
    ) -> None:

        async def run_scorer() -> Any:
            with span(f"score {scorer.name}", kind="task") as traced:
                self._expect(trace_id, traced, "scorer:" + scorer.name)
                returned = await self._call(scorer.signature, scorer.is_async, offered)
            return scores_from(returned, scorer.name)

        pairs = await attempt_async(run_scorer)
        if isinstance(pairs, Failed):  # a scorer's failure is recorded, not raised
            result.score_errors[scorer.name] = describe_exception(pairs.error)
            return
        for name, score in pairs:
            result.scores[name] = score.value
            if score.label is not None:
                result.labels[name] = score.label
            if score.explanation is not None:
                result.explanations[name] = plain(score.explanation, 2000)
            if root.is_recording and (score.value is not None or score.label is not None):
                record_score(
                    name,
                    score.value,
                    label=score.label,
                    explanation=score.explanation,
                    span=root,
                    source=scorer.source,  # type: ignore[arg-type]
                )

    async def _call(self, signature: Signature, is_async: bool, offered: Mapping[str, Any]) -> Any:
        """Call a task or scorer in its own context copy (a prompt it links stays there)."""
        loop = asyncio.get_running_loop()
        if is_async:
            return await loop.create_task(_awaited(signature.call(offered)))
        context = contextvars.copy_context()
        returned = await loop.run_in_executor(self.pool, context.run, signature.call, offered)
        if inspect.isawaitable(returned):  # a sync function that returned a coroutine
            returned = await loop.create_task(_awaited(returned))
        return returned


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _fill(result: CaseResult, stats: TraceStats) -> None:
    """Cost, tokens, latency, models and prompts of the case, as its spans say."""
    task = stats.totals.get("task")
    if task is not None:
        result.cost_usd = task.cost_usd
        result.input_tokens = task.input_tokens
        result.output_tokens = task.output_tokens
        result.llm_calls = task.llm_calls
        if task.latency_s is not None:
            result.latency_s = task.latency_s
    judges = [t for role, t in stats.totals.items() if role.startswith("scorer:")]
    costs = [t.cost_usd for t in judges]
    if judges and all(c is not None for c in costs):
        result.judge_cost_usd = math.fsum(c for c in costs if c is not None)
    models: dict[str, None] = {}
    prompts: dict[str, None] = {}
    for details in stats.llm_calls_under("task"):
        requested, served = details.get("request_model"), details.get("response_model")
        model = str(requested or served or "")
        if served and requested and served != requested:
            model = f"{requested} -> {served}"
        if details.get("model_version"):
            model += f" ({details['model_version']})"
        if model:
            models.setdefault(model)
        if details.get("prompt_name"):
            prompts.setdefault(f"{details['prompt_name']}@{details.get('prompt_version')}")
    result.models = sorted(models)
    result.prompts = sorted(prompts)


def _run_record(
    plan: _Plan, results: Sequence[CaseResult], started: datetime.datetime, duration: float
) -> dict[str, Any]:
    """What makes the run reproducible: versions, dataset hash, seed, what was seen."""
    variants: dict[str, Any] = {}
    for variant in plan.variants:
        seen = [r for r in results if r.variant == variant.label]
        described = variant.describe()
        described["models"] = sorted({m for r in seen for m in r.models})
        described["prompts"] = sorted({p for r in seen for p in r.prompts})
        variants[variant.label] = described
    return {
        "run_id": plan.run_id,
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round(duration, 3),
        "llmtrace_version": VERSION,
        "python": platform.python_version(),
        "dataset_hash": plan.dataset_hash,
        "seed": plan.seed,
        "cases": len(plan.cases),
        "concurrency": plan.concurrency,
        "task": plan.task_name,
        "scorers": [s.description for s in plan.scorers],
        "variants": variants,
        "metadata": plain(plan.metadata),
    }


class _Progress:
    """``name [#####.....] 12/40  1 error`` on stderr, redrawn in place."""

    _WIDTH = 24

    def __init__(self, name: str, total: int, enabled: bool) -> None:
        self.name, self.total, self.enabled = name, total, enabled
        self.done = self.errors = 0
        self._draw()

    def advance(self, error: bool) -> None:
        self.done += 1
        self.errors += error
        self._draw()

    def _draw(self) -> None:
        if not self.enabled:
            return
        filled = self._WIDTH * self.done // max(self.total, 1)
        errors = f"  {self.errors} error{'s' * (self.errors != 1)}" if self.errors else ""
        bar = "#" * filled + "." * (self._WIDTH - filled)
        with internal_errors:
            sys.stderr.write(f"\r{self.name} [{bar}] {self.done}/{self.total}{errors}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            with internal_errors:
                sys.stderr.write("\n")
                sys.stderr.flush()
