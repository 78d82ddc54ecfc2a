"""The open LangChain runs llmtrace is tracing, keyed by LangChain's run id.

One process-wide ``RunRegistry`` (``registry``) is shared by every
``LLMTraceCallbackHandler``, so the same run seen by two handlers (one passed
explicitly, one registered by ``instrument_langchain()``) is traced once: the
first handler to see a run's start owns it, the others ignore it.

Each ``Run`` keeps the OpenTelemetry context its children start under (its own
span, or its parent's when it has no span of its own), which is how parenting
follows LangChain's run tree rather than whatever context is current.

Memory stays bounded: a run leaves the registry when it ends; when a root run
ends, any descendant still open is ended too (marked
``llmtrace.langchain.unfinished``; a model run still streaming then makes the
root ``cut_short``: its caller stopped reading early); and the registry holds
at most ``max_open`` runs, none older than ``max_age`` seconds, evicting (and
ending) the oldest first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from opentelemetry.context import Context
from opentelemetry.util.types import AttributeValue

from ... import semconv
from ..._errors import internal_errors
from ..._genai.lifecycle import LLMInvocation
from ..._spans import TracedSpan, span_name, static_attributes

DEFAULT_MAX_OPEN = 10_000
DEFAULT_MAX_AGE_S = 3600.0


class Run:
    """One open LangChain run and what llmtrace made for it."""

    __slots__ = (
        "chunks",
        "context",
        "cut_short",
        "hand_down",
        "inv",
        "kind",
        "kind_override",
        "name",
        "open_children",
        "owner",
        "parent",
        "prompt",
        "record_output",
        "root",
        "run_id",
        "started",
        "traced",
    )

    def __init__(
        self,
        run_id: UUID,
        owner: object,
        parent: Run | None,
        context: Context,
        kind: str,
        name: str,
    ) -> None:
        self.run_id = run_id
        self.owner = owner
        self.parent = parent
        self.root: Run = parent.root if parent is not None else self
        self.context = context
        self.kind = kind
        self.name = name
        self.kind_override: object = None
        self.traced: TracedSpan | None = None
        self.inv: LLMInvocation | None = None
        # How a chain, tool or retriever span records what the run returned (see _handler).
        self.record_output: Callable[[TracedSpan, Any], None] | None = None
        # Attributes for an LLM span made by another instrumentation beneath this run.
        self.hand_down: Mapping[str, AttributeValue] | None = None
        # Prompt attributes for the LLM calls that follow in this run (set by a prompt child).
        self.prompt: Mapping[str, AttributeValue] | None = None
        self.open_children: set[UUID] | None = set() if parent is None else None
        self.chunks = 0
        # A root that ended while a model stream beneath it was still being read (its
        # caller stopped reading early; LangChain may report no error for that): the
        # chunks that model stream had delivered by then. 0: not cut short.
        self.cut_short = 0
        self.started = time.monotonic()

    def nearest_prompt(self) -> Mapping[str, AttributeValue] | None:
        run: Run | None = self
        while run is not None:
            if run.prompt is not None:
                return run.prompt
            run = run.parent
        return None

    def become_agent(self) -> None:
        """A chain that emits agent actions is an agent: rename and re-label its span once."""
        if self.kind == "agent" or self.traced is None:
            return
        self.kind = "agent"
        self.traced.relabel("agent")
        span = self.traced.span
        span.update_name(span_name(self.name, "agent"))
        span.set_attributes(static_attributes(self.name, "agent", None))

    def mark_cut_short(self) -> None:
        """On a root whose caller stopped reading a model stream beneath: say so."""
        if self.cut_short and self.traced is not None:
            self.traced.set_attribute(semconv.LLMTRACE_STREAM_ABANDONED, True)
            self.traced.set_attribute(semconv.LLMTRACE_STREAM_CHUNKS, self.cut_short)

    def end_with_error(self, error: BaseException) -> None:
        """End the span with the run's error; a closed stream (GeneratorExit) is no error."""
        abandoned = isinstance(error, GeneratorExit)
        if self.traced is not None:
            if abandoned:
                self.mark_cut_short()
                self.traced.set_attribute(semconv.LLMTRACE_STREAM_ABANDONED, True)
                self.traced.end()
            else:
                self.traced.end(error)
        elif self.inv is not None:
            if abandoned:
                self.inv.attributes[semconv.LLMTRACE_STREAM_ABANDONED] = True
                self.inv.stop()
            else:
                self.inv.fail(error)

    def finish_unfinished(self) -> None:
        """End the span of a run LangChain never ended (released or evicted)."""
        with internal_errors:
            if self.traced is not None:
                self.traced.set_attribute(semconv.LLMTRACE_LANGCHAIN_UNFINISHED, True)
                self.traced.end()
            elif self.inv is not None:
                self.inv.attributes[semconv.LLMTRACE_LANGCHAIN_UNFINISHED] = True
                self.inv.stop()


class RunRegistry:
    """Open runs by run id, bounded in count and age; thread-safe."""

    def __init__(
        self, max_open: int = DEFAULT_MAX_OPEN, max_age: float = DEFAULT_MAX_AGE_S
    ) -> None:
        self.max_open = max_open
        self.max_age = max_age
        self._runs: OrderedDict[UUID, Run] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._runs)

    def get(self, run_id: Any) -> Run | None:
        if run_id is None:
            return None
        return self._runs.get(run_id)

    def add(self, run: Run) -> bool:
        """Register a new run; False if another handler already owns this run id."""
        evicted: list[Run] = []
        with self._lock:
            if run.run_id in self._runs:
                return False
            self._runs[run.run_id] = run
            root = run.root
            if root is not run and root.open_children is not None:
                root.open_children.add(run.run_id)
            self._evict(evicted, run.started)
        for stale in evicted:
            stale.finish_unfinished()
        return True

    def _evict(self, evicted: list[Run], now: float) -> None:
        runs = self._runs
        while runs:
            oldest = next(iter(runs.values()))
            if len(runs) <= self.max_open and now - oldest.started <= self.max_age:
                return
            runs.popitem(last=False)
            self._forget(oldest)
            evicted.append(oldest)

    def _forget(self, run: Run) -> None:
        root = run.root
        if root is not run and root.open_children is not None:
            root.open_children.discard(run.run_id)

    def pop(self, run_id: Any, owner: object) -> Run | None:
        """Remove and return the run if ``owner`` owns it; a root also ends its leftovers."""
        leftovers: list[Run] = []
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.owner is not owner:
                return None
            del self._runs[run_id]
            self._forget(run)
            children = run.open_children
            if children:
                for child_id in children:
                    child = self._runs.pop(child_id, None)
                    if child is not None:
                        leftovers.append(child)
                        if child.kind == "llm":
                            run.cut_short = max(run.cut_short, child.chunks)
                children.clear()
        for child in reversed(leftovers):
            child.finish_unfinished()
        return run

    def clear(self) -> None:
        """End every open run (used when uninstrumenting and by tests)."""
        with self._lock:
            runs = list(self._runs.values())
            self._runs.clear()
        for run in reversed(runs):
            run.finish_unfinished()


registry = RunRegistry()
