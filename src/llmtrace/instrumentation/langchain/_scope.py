"""Making a run's span current inside the run's body, without a dangling context.

LangChain calls handlers around a run's body, but for async runs its end
callbacks execute in a copied context (``shielded`` tasks), so a context
attached in ``on_*_start`` could never be detached where it was attached.
llmtrace therefore never attaches in start/end callbacks. Instead:

* Runnable bodies (chains, lambdas, tools, LangGraph nodes) run in a fresh
  ``contextvars`` copy that LangChain makes with ``_set_config_context``;
  ``bridge`` attaches the run's context inside that throwaway copy, where
  nothing needs detaching.
* Model bodies get no such copy, so ``call_scope`` wraps the methods that call
  the provider and know their run (``_generate_with_cache`` & co.) and
  attaches/detaches around the call in the same frame. Streaming entry points
  (``stream``/``astream``) do not know their run before it starts, so they are
  bracketed per step with a ``Slot`` that the handler fills (and makes current)
  when the run starts inside the step; the bracket's detach undoes it.
  Retriever bodies are bracketed the same way (``BaseRetriever.invoke``).

The context made current for a model body carries the run's hand-down
attributes (``LLM_SPAN_ATTRIBUTES_KEY``) for an OpenAI span beneath it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry.context import Context

from ..._errors import internal_errors
from ..._genai.lifecycle import LLM_SPAN_ATTRIBUTES_KEY
from ..._runtime import runtime
from ._runs import Run, registry

SLOT_KEY = otel_context.create_key("llmtrace.langchain.stream_slot")

T = TypeVar("T")


class Slot:
    """Filled by the handler when a model run starts inside a streaming bracket."""

    __slots__ = ("context", "kind", "run_id")

    def __init__(self, kind: str) -> None:
        self.kind = kind  # only a run of this kind (llm, retriever) may claim the slot
        self.run_id: UUID | None = None
        self.context: Context | None = None


def clean(ctx: Context) -> Context:
    """``ctx`` without our per-call keys, as the base for a new run's spans."""
    if otel_context.get_value(LLM_SPAN_ATTRIBUTES_KEY, ctx) is not None:
        ctx = otel_context.set_value(LLM_SPAN_ATTRIBUTES_KEY, None, ctx)
    if otel_context.get_value(SLOT_KEY, ctx) is not None:
        ctx = otel_context.set_value(SLOT_KEY, None, ctx)
    return ctx


def body_context(run: Run) -> Context:
    """The context code inside the run executes in."""
    if run.hand_down is not None:
        return otel_context.set_value(LLM_SPAN_ATTRIBUTES_KEY, run.hand_down, run.context)
    return run.context


def fill_slot(run: Run, kind: str | None = None) -> None:
    """Called by the handler at a run's start: claim an empty bracket of the run's kind."""
    slot = otel_context.get_value(SLOT_KEY)
    if isinstance(slot, Slot) and slot.run_id is None and slot.kind == (kind or run.kind):
        slot.run_id = run.run_id
        slot.context = body_context(run)
        # Undone by the bracket's detach at the end of this step (same context).
        otel_context.attach(slot.context)


def _context_for_run_id(run_id: Any) -> Context | None:
    run = registry.get(run_id)
    return body_context(run) if run is not None else None


# -- wrapt wrappers ----------------------------------------------------------------------


def bridge(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """Wraps ``_set_config_context(config, ...)``, which runs inside a fresh context copy."""
    result = wrapped(*args, **kwargs)
    with internal_errors:
        config = args[0] if args else kwargs.get("config")
        callbacks = config.get("callbacks") if isinstance(config, dict) else None
        ctx = _context_for_run_id(getattr(callbacks, "parent_run_id", None))
        if ctx is not None:
            otel_context.attach(ctx)  # in the throwaway copy: never detached by design
    return result


def _run_manager_context(args: Any, kwargs: Any, index: int, name: str) -> Context | None:
    manager = kwargs.get(name) if name in kwargs else (args[index] if len(args) > index else None)
    if isinstance(manager, list):
        manager = manager[0] if manager else None
    return _context_for_run_id(getattr(manager, "run_id", None))


def call_scope(index: int, name: str) -> Any:
    """A wrapper for a sync method taking its run manager(s) as ``args[index]``/``name``."""

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        ctx = None
        with internal_errors:
            ctx = _run_manager_context(args, kwargs, index, name)
        if ctx is None:
            return wrapped(*args, **kwargs)
        token = otel_context.attach(ctx)
        try:
            return wrapped(*args, **kwargs)
        finally:
            otel_context.detach(token)

    return wrapper


def async_call_scope(index: int, name: str) -> Any:
    """``call_scope`` for a coroutine method: attach and detach inside the coroutine."""

    async def run(wrapped: Any, args: Any, kwargs: Any) -> Any:
        ctx = None
        with internal_errors:
            ctx = _run_manager_context(args, kwargs, index, name)
        if ctx is None:
            return await wrapped(*args, **kwargs)
        token = otel_context.attach(ctx)
        try:
            return await wrapped(*args, **kwargs)
        finally:
            otel_context.detach(token)

    def wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        return run(wrapped, args, kwargs)

    return wrapper


def slot_scope(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """Brackets a plain call whose run starts inside it (``BaseRetriever.invoke``)."""
    if runtime.tracer() is None:
        return wrapped(*args, **kwargs)
    token = otel_context.attach(otel_context.set_value(SLOT_KEY, Slot("retriever")))
    try:
        return wrapped(*args, **kwargs)
    finally:
        otel_context.detach(token)


def async_slot_scope(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """``slot_scope`` for a coroutine method (``BaseRetriever.ainvoke``)."""
    if runtime.tracer() is None:
        return wrapped(*args, **kwargs)
    return _in_slot("retriever", wrapped, args, kwargs)


async def _in_slot(kind: str, wrapped: Any, args: Any, kwargs: Any) -> Any:
    """Await the call with a fresh ``kind`` slot current, for the run it starts to claim."""
    token = otel_context.attach(otel_context.set_value(SLOT_KEY, Slot(kind)))
    try:
        return await wrapped(*args, **kwargs)
    finally:
        otel_context.detach(token)


def node_scope(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """Python 3.10: brackets LangGraph's ``RunnableSeq`` / ``RunnableCallable.ainvoke``.

    Before 3.11 ``asyncio.create_task`` takes no ``context``, so LangGraph awaits an
    async node's body in the caller's context and never calls ``_set_config_context``
    (``bridge``); the node's run, started first inside the call, claims this bracket
    instead and is current while the body runs. A callable that starts no run of its
    own (``trace=False``) gets no bracket.
    """
    if runtime.tracer() is None or not getattr(instance, "trace", True):
        return wrapped(*args, **kwargs)
    return _in_slot("chain", wrapped, args, kwargs)


def stream_scope(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """Brackets each step of a model's ``stream()`` generator (see module docstring)."""
    inner = wrapped(*args, **kwargs)
    if runtime.tracer() is None:
        return inner
    return _bracketed(inner)


def _events_scope(bracket: Callable[[Any, Context], Any]) -> Callable[..., Any]:
    """Each step of ``_iter_v2_events(..., run_manager=...)`` runs in its run's context."""

    def scope(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        inner = wrapped(*args, **kwargs)
        ctx = None
        with internal_errors:
            ctx = _run_manager_context((), kwargs, 0, "run_manager")
        return inner if ctx is None else bracket(inner, ctx)

    return scope


def _bracketed(inner: Iterator[T], known: Context | None = None) -> Iterator[T]:
    slot = Slot("llm")
    slot.context = known
    try:
        while True:
            token = otel_context.attach(slot.context or otel_context.set_value(SLOT_KEY, slot))
            try:
                item = next(inner)
            except StopIteration:
                return
            finally:
                otel_context.detach(token)
            yield item
    finally:
        close = getattr(inner, "close", None)
        if close is not None:
            close()


def astream_scope(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """``stream_scope`` for ``astream()`` async generators."""
    inner = wrapped(*args, **kwargs)
    if runtime.tracer() is None:
        return inner
    return _abracketed(inner)


class _ABracketed:
    """``_bracketed`` for async iterators: each ``__anext__`` runs in the bracket.

    An async iterator object rather than an async generator: a generator wrapping the
    model's ``astream()`` generator would be finalized by asyncio together with it
    when a caller drops a stream it stopped reading, and its closing of the inner
    generator would then race asyncio's ("aclose(): asynchronous generator is
    already running"). This object leaves the inner generator's finalization to
    asyncio, as if it were not wrapped; an explicit ``aclose()`` is passed on.
    """

    __slots__ = ("_inner", "_slot")

    def __init__(self, inner: AsyncIterator[Any], known: Context | None) -> None:
        self._inner = inner
        self._slot = Slot("llm")
        self._slot.context = known

    def __aiter__(self) -> _ABracketed:
        return self

    async def __anext__(self) -> Any:
        slot = self._slot
        token = otel_context.attach(slot.context or otel_context.set_value(SLOT_KEY, slot))
        try:
            return await self._inner.__anext__()
        finally:
            otel_context.detach(token)

    async def aclose(self) -> None:
        aclose = getattr(self._inner, "aclose", None)
        if aclose is not None:
            await aclose()


def _abracketed(inner: AsyncIterator[T], known: Context | None = None) -> AsyncIterator[T]:
    return _ABracketed(inner, known)


events_scope = _events_scope(_bracketed)
aevents_scope = _events_scope(_abracketed)
