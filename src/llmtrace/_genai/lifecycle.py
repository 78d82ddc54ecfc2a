"""The lifecycle of an LLM span: start, then stop or fail, exactly once.

Every LLM span (OpenAI, LangChain, ``llm_call``, every provider) goes through
``LLMInvocation``, the invocation record with a lifecycle::

    inv = LLMInvocation(operation="chat", provider="openai", request_model="gpt-4o")
    inv.start()                       # opens the CLIENT span "chat gpt-4o"
    ...call the model; fill inv.response_model, inv.usage, inv.output_messages...
    inv.stop()                        # price -> attributes -> end; then account (roll-up,
    # or inv.fail(exc)                #   budgets, metrics)

What happens besides the span (budgets before the call, pricing, roll-ups, metrics)
comes from the ``Hooks`` this module is given (``use_hooks``; the ``_genai`` package
gives it ``accounting.HOOKS``), so nothing here imports those modules. ``stop()``
and ``fail()`` are idempotent, so a stream wrapper, a context manager exit and a
garbage-collection hook can all call them safely. All of it runs inside the
never-raise guard: a bug here never reaches the caller.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, Tracer

from .._errors import internal_errors, never_raise
from .._prompts.state import prompt_attributes
from .._runtime import runtime
from .._spans import record_error
from .pricing import Cost
from .record import InvocationRecord

# Wrappers around an LLM call (the LangChain handler) can put a Mapping of extra
# attributes under this context key; the next LLM span started beneath picks them up.
LLM_SPAN_ATTRIBUTES_KEY = otel_context.create_key("llmtrace.llm_span_attributes")
# An integration whose call is itself the LLM span (LiteLLM) sets this key while the
# call runs: LLM spans started beneath (the openai SDK LiteLLM calls) are not opened, so
# the call yields one LLM span and one cost. Other instrumentations are not affected.
INSIDE_LLM_SPAN_KEY = otel_context.create_key("llmtrace.inside_llm_span")
_CLIENT = SpanKind.CLIENT


@dataclass(frozen=True, slots=True)
class Hooks:
    """What the lifecycle does besides the span, at three moments of every call."""

    # Before the call; may raise (BudgetExceeded: the one exception llmtrace raises on purpose).
    before_call: Callable[[], None]
    # At the end, before the attributes are written: the call's cost, or None. Positional-only
    # parameters, as are account's: both run under the never-raise guard's decorator form.
    price: Callable[[InvocationRecord], Cost | None]
    # After the span ended: (record, sampled parent span id or None, duration in seconds).
    account: Callable[[InvocationRecord, int | None, float], None]


def _nothing(*_: Any) -> None:
    return None


NO_HOOKS = Hooks(before_call=_nothing, price=_nothing, account=_nothing)
_hooks = NO_HOOKS
# The hooks that run after the call, guarded once here: a failing one costs its own step.
_price: Callable[[InvocationRecord], Cost | None] = _nothing
_account: Callable[[InvocationRecord, int | None, float], None] = _nothing


def use_hooks(hooks: Hooks) -> Hooks:
    """Install the hooks every LLM span uses from now on; returns the previous ones."""
    global _hooks, _price, _account
    price, account = never_raise(None)(hooks.price), never_raise(None)(hooks.account)
    previous, _hooks, _price, _account = _hooks, hooks, price, account
    return previous


@dataclass(eq=False, init=False)
class LLMInvocation(InvocationRecord):
    """An invocation record that opens and ends its own CLIENT span."""

    _started_at: float = 0.0
    _parent_span_id: int | None = None
    _token: object | None = None
    _done: bool = False

    @property
    def is_recording(self) -> bool:
        return self.span is not None and self.span.is_recording()

    def start(
        self,
        *,
        check_budget: bool = True,
        check_suppression: bool = True,
        context: Context | None = None,
        tracer: Tracer | None = None,
    ) -> bool:
        """Open the CLIENT span. False (and no span) when tracing is off or suppressed.

        ``check_budget`` raises ``BudgetExceeded`` from a spent raising budget, before
        the call. ``check_suppression=False``: the caller has just checked that
        instrumentation is not suppressed (the shells do, before ``begin``). ``context``
        is the current context when the caller already has it at hand; ``tracer`` one an
        instrumentor was given (else llmtrace's own).
        """
        # One context lookup serves the parent, handed-down attributes and the SDK
        # (which would otherwise look it up again for its sampler).
        ctx = otel_context.get_current() if context is None else context
        if ctx.get(INSIDE_LLM_SPAN_KEY) is not None:  # a span above already is the LLM span
            self._done = True
            return False
        if check_budget:
            _hooks.before_call()
        self._done = True  # until the span is open: stop() and fail() then do nothing
        with internal_errors:
            if tracer is None:
                tracer = runtime.tracer()
            if tracer is None or (check_suppression and not is_instrumentation_enabled()):
                return False
            if runtime.capture_content:
                self.capture_content = True
                self.content_limit = runtime.max_attribute_bytes
            self._started_at = time.perf_counter()
            parent = trace.get_current_span(ctx).get_span_context()
            # Only a sampled parent ever ends recording, and so collects its roll-up entry.
            if parent.trace_flags.sampled and parent.is_valid:
                self._parent_span_id = parent.span_id
            handed_down = ctx.get(LLM_SPAN_ATTRIBUTES_KEY)
            attributes = self.start_attributes(
                runtime.model_version,
                prompt_attributes(),
                handed_down
                if handed_down is not None and isinstance(handed_down, Mapping)
                else None,
            )
            self.span = tracer.start_span(self.span_name, ctx, _CLIENT, attributes)
            self._done = False
            return True
        return False

    def attach(self, *, exclusive: bool = False) -> None:
        """Make the span current (so e.g. HTTP client spans nest under it).

        ``exclusive``: no LLM span opens beneath it (``INSIDE_LLM_SPAN_KEY``).
        """
        if self.span is not None and self._token is None:
            ctx = trace.set_span_in_context(self.span)
            if exclusive:
                ctx = otel_context.set_value(INSIDE_LLM_SPAN_KEY, True, ctx)
            self._token = otel_context.attach(ctx)

    def detach(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            otel_context.detach(token)  # type: ignore[arg-type]

    def mark_first_chunk(self) -> None:
        if self.time_to_first_chunk is None and self._started_at:
            self.time_to_first_chunk = time.perf_counter() - self._started_at

    def stop(self) -> None:
        """Finish successfully: cost, attributes, end, accounting. Idempotent."""
        self._finish(None)

    def fail(self, exception: BaseException) -> None:
        """Finish with an error: recorded on the span with ERROR status. Idempotent."""
        self._finish(exception)

    def _finish(self, exception: BaseException | None) -> None:
        if self._token is not None:
            self.detach()
        if self._done:
            return
        self._done = True
        span = self.span
        if span is None:
            return
        duration = time.perf_counter() - self._started_at
        # Separate guards: a bug in one step costs that step's data, not the others'.
        # Priced even when sampled out: budgets, the cost metric and roll-ups count it.
        if self.usage is not None and self.cost is None:
            self.cost = _price(self)
        with internal_errors:
            if exception is not None:
                self.error_type = self.error_type or type(exception).__qualname__
            if span.is_recording():
                span.set_attributes(self.end_attributes())
        if exception is not None:
            with internal_errors:
                record_error(span, exception)
        _account(self, self._parent_span_id, duration)
        span.end()
