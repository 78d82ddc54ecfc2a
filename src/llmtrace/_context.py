"""Context that travels with a request: session, user, tags and metadata.

    with llmtrace.session(session_id="s-42", user_id="u-7", tags=["beta"], metadata={"plan": 1}):
        answer(question)   # every span started inside carries session.id, user.id, ...

The scope lives in the OpenTelemetry context (a contextvar), so it follows
``await``, ``asyncio`` tasks and threads started through
``contextvars.copy_context()``. For ``concurrent.futures`` use
``ContextThreadPoolExecutor`` (or wrap a callable with ``bind_context``). With
``propagate=True`` the session and user ids also travel as W3C baggage, so
downstream services instrumented with llmtrace put them on their spans too.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.util.types import AttributeValue

from . import semconv
from ._serialize import to_attribute

P = ParamSpec("P")
R = TypeVar("R")

SCOPE_KEY = otel_context.create_key("llmtrace.session")
# Baggage keys read back in downstream services: the attribute names themselves.
BAGGAGE_KEYS = (semconv.SESSION_ID, semconv.USER_ID)


@dataclass(frozen=True)
class SessionScope:
    """The session data in effect; ``attributes`` is what each span started inside gets."""

    session_id: str | None = None
    user_id: str | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict, repr=False)


def _attribute_value(value: Any) -> AttributeValue:
    return to_attribute(value, 1024)


def _merge(
    outer: SessionScope | None,
    session_id: str | None,
    user_id: str | None,
    tags: Sequence[str] | None,
    metadata: Mapping[str, Any] | None,
) -> SessionScope:
    base = outer or SessionScope()
    merged_tags = tuple(dict.fromkeys([*base.tags, *(str(t) for t in tags or ())]))
    merged_meta = {**base.metadata, **(metadata or {})}
    sid = session_id if session_id is not None else base.session_id
    uid = user_id if user_id is not None else base.user_id
    attributes: dict[str, AttributeValue] = {}
    if sid is not None:
        attributes[semconv.SESSION_ID] = str(sid)
    if uid is not None:
        attributes[semconv.USER_ID] = str(uid)
    if merged_tags:
        attributes[semconv.LLMTRACE_TAGS] = merged_tags
    for key, value in merged_meta.items():
        attributes[semconv.LLMTRACE_METADATA_PREFIX + str(key)] = _attribute_value(value)
    return SessionScope(sid, uid, merged_tags, merged_meta, attributes)


@contextmanager
def session(
    session_id: str | None = None,
    user_id: str | None = None,
    tags: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    *,
    propagate: bool = False,
) -> Iterator[SessionScope]:
    """Attach session, user, tags and metadata to every span started inside the block.

    Nested scopes inherit: inner ids win, tags add up, metadata keys merge.
    ``propagate=True`` also puts ``session.id`` and ``user.id`` into W3C baggage.
    """
    ctx = otel_context.get_current()
    scope = _merge(current_session(ctx), session_id, user_id, tags, metadata)
    ctx = otel_context.set_value(SCOPE_KEY, scope, ctx)
    if propagate:
        if scope.session_id is not None:
            ctx = baggage.set_baggage(semconv.SESSION_ID, scope.session_id, ctx)
        if scope.user_id is not None:
            ctx = baggage.set_baggage(semconv.USER_ID, scope.user_id, ctx)
    token = otel_context.attach(ctx)
    try:
        yield scope
    finally:
        otel_context.detach(token)


def current_session(ctx: Context | None = None) -> SessionScope | None:
    """The session scope in effect, or None outside any ``session()`` block."""
    value = otel_context.get_value(SCOPE_KEY, ctx)
    return value if isinstance(value, SessionScope) else None


def bind_context(func: Callable[P, R]) -> Callable[P, R]:
    """Return ``func`` bound to a copy of the current context (for threads and pools)."""
    ctx = contextvars.copy_context()

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return ctx.run(func, *args, **kwargs)

    return run


class ContextThreadPoolExecutor(concurrent.futures.ThreadPoolExecutor):
    """A ThreadPoolExecutor whose tasks run in the context of the code that submitted them,
    so spans made in a worker nest under the caller's span and keep its session."""

    def submit(
        self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs
    ) -> concurrent.futures.Future[R]:
        ctx = contextvars.copy_context()
        return super().submit(ctx.run, fn, *args, **kwargs)  # type: ignore[arg-type]
