"""The session processor: puts the ``session()`` scope on every span when it starts.

    provider.add_span_processor(ContextAttributesProcessor())
    with llmtrace.session(session_id="s-42"):
        ...   # every span started here, by any instrumentation, carries session.id

The scope itself (``session()``, ``SCOPE_KEY``, the baggage keys) lives in
``_context.py``; this module only copies it onto spans. ``init()`` adds the processor
to the provider it uses, ``llmtrace.testing.capture_spans()`` to its own.
"""

from __future__ import annotations

from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span, SpanProcessor

from ._context import BAGGAGE_KEYS, SCOPE_KEY, SessionScope
from ._errors import internal_errors


class ContextAttributesProcessor(SpanProcessor):
    """Puts the session scope (or session baggage from upstream) on every span at start.

    A span processor rather than code in our wrappers, so that spans from every
    instrumentation, ours and others', carry the session.
    """

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        # Runs for every span of every instrumentation: a few lookups when no session is set.
        with internal_errors:
            ctx = parent_context if parent_context is not None else otel_context.get_current()
            scope = ctx.get(SCOPE_KEY)
            if isinstance(scope, SessionScope):
                span.set_attributes(scope.attributes)
            elif entries := baggage.get_all(ctx):  # empty (falsy) for almost every span
                for key in BAGGAGE_KEYS:
                    value = entries.get(key)
                    if value is not None:
                        span.set_attribute(key, str(value))

    # on_end, shutdown and force_flush: SpanProcessor's own (nothing to do, nothing held).
