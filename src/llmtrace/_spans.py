"""Manual spans: ``with llmtrace.span("retrieve", kind="retriever") as s:``.

    with llmtrace.span("rank", kind="task", attributes={"k": 5}) as s:
        s.set_input(candidates)          # recorded only when content capture is on
        best = rank(candidates)
        s.set_output(best)

    async with llmtrace.span("fetch", kind="tool") as s:
        ...

An exception leaving the block is recorded on the span (ERROR status,
``error.type``) and propagates unchanged. ``TracedSpan`` is also what the
``@trace`` decorator drives, so both produce identical spans.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from . import _rollup, semconv
from ._cm import AsyncWithMixin, ExcType, Traceback
from ._errors import Failed, attempt, internal_errors, logger
from ._openinference import openinference_content
from ._runtime import runtime
from ._serialize import to_attribute, to_json

SpanKindName = Literal["workflow", "task", "agent", "tool", "retriever", "embedding", "llm"]
SPAN_KINDS: tuple[str, ...] = ("workflow", "task", "agent", "tool", "retriever", "embedding", "llm")

# Kinds the GenAI conventions have an operation for; the span name follows the
# conventions' "{operation} {name}" form for agents, tools and workflows.
_OPERATIONS: dict[str, str] = {
    "workflow": semconv.OP_INVOKE_WORKFLOW,
    "agent": semconv.OP_INVOKE_AGENT,
    "tool": semconv.OP_EXECUTE_TOOL,
    "retriever": semconv.OP_RETRIEVAL,
    "embedding": semconv.OP_EMBEDDINGS,
}
_NAME_KEYS: dict[str, str] = {
    "workflow": semconv.GEN_AI_WORKFLOW_NAME,
    "agent": semconv.GEN_AI_AGENT_NAME,
    "tool": semconv.GEN_AI_TOOL_NAME,
}
_PREFIXED_NAMES = frozenset({"workflow", "agent", "tool"})

_INTERNAL = SpanKind.INTERNAL


def check_kind(kind: str) -> str:
    if kind not in SPAN_KINDS:
        raise ValueError(f"kind must be one of {', '.join(SPAN_KINDS)}; got {kind!r}")
    return kind


def span_name(name: str, kind: str) -> str:
    operation = _OPERATIONS.get(kind)
    return f"{operation} {name}" if kind in _PREFIXED_NAMES and operation else name


def static_attributes(
    name: str, kind: str, extra: Mapping[str, AttributeValue] | None
) -> dict[str, AttributeValue]:
    """The attributes a span of this name and kind always starts with (computed once).

    ``llmtrace.span.kind`` is not among them: ``TracedSpan`` writes it at the end.
    """
    attributes: dict[str, AttributeValue] = {}
    operation = _OPERATIONS.get(kind)
    if operation:
        attributes[semconv.GEN_AI_OPERATION_NAME] = operation
    name_key = _NAME_KEYS.get(kind)
    if name_key:
        attributes[name_key] = name
    if extra:
        attributes.update(extra)
    return attributes


def suppressed() -> bool:
    """True inside ``opentelemetry.instrumentation.utils.suppress_instrumentation()``."""
    return not is_instrumentation_enabled()


def redacted(value: Any) -> tuple[bool, Any]:
    """Run the user's redaction hook; (False, None) means drop the content."""
    hook = runtime.redact
    if hook is None:
        return True, value
    result = attempt(hook, value)
    if not isinstance(result, Failed):
        return True, result
    # The hook is user code: drop the content, keep the span. Warn once per exception
    # type, and never with its message: it may quote the content.
    name = type(result.error).__qualname__
    if name not in _hook_failures:
        _hook_failures.add(name)
        logger.warning(
            "llmtrace: the redact hook raised %s; content is dropped whenever it fails "
            "(its message is not logged, as it may contain the content)",
            name,
        )
    return False, None


_hook_failures: set[str] = set()


def content_attribute(value: Any) -> str | None:
    """Redact and serialise content for an attribute, or None when the hook drops it."""
    if runtime.redact is not None:
        keep, value = redacted(value)
        if not keep:
            return None
    return to_json(value, runtime.max_attribute_bytes)


class TracedSpan:
    """A started span plus the llmtrace bookkeeping around it. Ends exactly once.

    The span kind and captured content are written when the span ends, in one
    ``set_attributes`` call: the SDK charges a fixed cost per call and per span
    started with attributes, several times what one more attribute in a batch
    costs. Samplers see the GenAI operation of agent, tool, workflow, retriever
    and embedding spans at start (``gen_ai.operation.name``).
    """

    __slots__ = (
        "_capture_input",
        "_capture_output",
        "_content",
        "_ended",
        "_kind",
        "_token",
        "span",
    )

    def __init__(self, span: Span, kind: str, capture_input: bool, capture_output: bool) -> None:
        self.span = span
        self._kind = kind
        self._capture_input = capture_input
        self._capture_output = capture_output
        self._content: dict[str, str] | None = None  # content attributes, written at the end
        self._token: object | None = None
        self._ended = False

    # -- user-facing ------------------------------------------------------------------
    def set_input(self, value: Any) -> None:
        """Record the input (when content capture is on for this span)."""
        if self._capture_input:
            self._set_content(semconv.LLMTRACE_INPUT, value)

    def set_output(self, value: Any) -> None:
        """Record the output (when content capture is on for this span)."""
        if self._capture_output:
            self._set_content(semconv.LLMTRACE_OUTPUT, value)

    def set_attribute(self, key: str, value: Any) -> None:
        with internal_errors:
            if self.span.is_recording():
                self.span.set_attribute(key, _attribute(value))

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def record_exception(self, exception: BaseException) -> None:
        """Record an exception on the span (status ERROR) without ending it."""
        with internal_errors:
            _record_error(self.span, exception)

    def relabel(self, kind: str) -> None:
        """Change the span kind (written when the span ends)."""
        self._kind = check_kind(kind)

    @property
    def span_context(self) -> trace.SpanContext:
        return self.span.get_span_context()

    @property
    def is_recording(self) -> bool:
        return self.span.is_recording()

    # -- lifecycle (used by span() and @trace) -----------------------------------------
    def attach(self) -> None:
        self._token = otel_context.attach(trace.set_span_in_context(self.span))

    def detach(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            otel_context.detach(token)  # type: ignore[arg-type]

    def end(self, exception: BaseException | None = None) -> None:
        token = self._token
        if token is not None:
            self._token = None
            otel_context.detach(token)  # type: ignore[arg-type]
        if self._ended:
            return
        self._ended = True
        span = self.span
        content = self._content
        if runtime.prompt_interop:
            content = openinference_content(self._kind, content)
        if content is None:
            span.set_attribute(_KIND_KEY, self._kind)
        else:
            self._content = None
            content[_KIND_KEY] = self._kind
            span.set_attributes(content)
        # Roll-up totals exist only under spans with LLM calls beneath; skip the
        # lookups (and the guard) for the common span that has none.
        if exception is not None or _rollup.pending():
            with internal_errors:
                if span.is_recording():
                    if exception is not None:
                        _record_error(span, exception)
                    context = span.get_span_context()
                    parent = getattr(span, "parent", None)
                    _rollup.finish_span(span, context.span_id, parent.span_id if parent else None)
        span.end()

    def _set_content(self, key: str, value: Any) -> None:
        """Serialise ``value`` now (it may change later), write it when the span ends."""
        with internal_errors:
            if not self._ended and self.span.is_recording():
                text = content_attribute(value)
                if text is not None:
                    content = self._content
                    if content is None:
                        content = self._content = {}
                    content[key] = text
                    if self._kind == "tool":
                        content[_TOOL_CONTENT_KEYS[key]] = text


_KIND_KEY = semconv.LLMTRACE_SPAN_KIND
_TOOL_CONTENT_KEYS = {
    semconv.LLMTRACE_INPUT: semconv.GEN_AI_TOOL_CALL_ARGUMENTS,
    semconv.LLMTRACE_OUTPUT: semconv.GEN_AI_TOOL_CALL_RESULT,
}


def _attribute(value: Any) -> AttributeValue:
    return to_attribute(value, runtime.max_attribute_bytes)


def _record_error(span: Span, exception: BaseException) -> None:
    if not span.is_recording():
        return
    record_error(span, exception)
    span.set_attribute(semconv.ERROR_TYPE, type(exception).__qualname__)


def record_error(span: Span, exception: BaseException) -> None:
    """Exception event and ERROR status, even for an exception whose ``__str__`` raises."""
    description = describe_exception(exception)
    # The SDK calls str(exception), which may raise.
    if isinstance(attempt(span.record_exception, exception, escaped=True), Failed):
        span.add_event(
            "exception",
            {
                semconv.EXCEPTION_TYPE: type(exception).__qualname__,
                semconv.EXCEPTION_MESSAGE: description,
            },
        )
    span.set_status(Status(StatusCode.ERROR, description))


def describe_exception(exception: BaseException) -> str:
    """``Type: message`` in at most 512 characters; never raises."""
    message = attempt(str, exception)  # user exceptions may raise from __str__
    if isinstance(message, Failed):
        message = "<str() failed>"
    return f"{type(exception).__name__}: {message}"[:512]


def start(*args: Any, tracer: trace.Tracer | None = None, **kwargs: Any) -> TracedSpan | None:
    """``start_with()`` with llmtrace's tracer (or ``tracer``, one an instrumentor was
    given); None when tracing is off or suppressed (the fast path)."""
    if tracer is None:
        tracer = runtime.tracer()
    if tracer is None:
        return None
    return start_with(tracer, *args, **kwargs)


def start_with(
    tracer: trace.Tracer,
    name: str,
    kind: str,
    attributes: Mapping[str, AttributeValue] | None,
    capture_input: bool | None,
    capture_output: bool | None,
    context: Context | None = None,
) -> TracedSpan | None:
    """``start()`` with the tracer already looked up (None when suppressed)."""
    if not is_instrumentation_enabled():
        return None
    current = otel_context.get_current()
    # Handing the SDK the context it would look up anyway saves its sampler and
    # processors looking it up again, one by one.
    span = tracer.start_span(name, current if context is None else context, _INTERNAL, attributes)
    capture_default = runtime.capture_content
    return TracedSpan(
        span,
        kind,
        capture_default if capture_input is None else capture_input,
        capture_default if capture_output is None else capture_output,
    )


class _NoSpan(TracedSpan):
    """Stands in when tracing is off, so ``with span(...) as s: s.set_output(x)`` still works."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(trace.INVALID_SPAN, "task", False, False)

    def end(self, exception: BaseException | None = None) -> None:
        return None


_NO_SPAN = _NoSpan()


class span(AsyncWithMixin[TracedSpan]):
    """Open a span for a block of code; works with ``with`` and ``async with``."""

    __slots__ = ("_attributes", "_capture", "_kind", "_name", "_traced")

    def __init__(
        self,
        name: str,
        kind: SpanKindName = "task",
        attributes: Mapping[str, AttributeValue] | None = None,
        *,
        capture_content: bool | None = None,
    ) -> None:
        self._kind = check_kind(kind)
        self._name = name
        self._attributes = attributes
        self._capture = capture_content
        self._traced: TracedSpan | None = None

    def __enter__(self) -> TracedSpan:
        traced = None
        with internal_errors:
            traced = start(
                span_name(self._name, self._kind),
                self._kind,
                static_attributes(self._name, self._kind, self._attributes),
                self._capture,
                self._capture,
            )
            if traced is not None:
                traced.attach()
        self._traced = traced
        return traced if traced is not None else _NO_SPAN

    def __exit__(self, exc_type: ExcType, exc: BaseException | None, tb: Traceback) -> None:
        traced, self._traced = self._traced, None
        if traced is not None:
            with internal_errors:
                traced.end(exc)
