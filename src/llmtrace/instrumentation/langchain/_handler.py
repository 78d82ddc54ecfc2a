"""``LLMTraceCallbackHandler``: LangChain runs as llmtrace spans.

    from llmtrace.langchain import LLMTraceCallbackHandler

    chain.invoke(inputs, config={"callbacks": [LLMTraceCallbackHandler()]})

Chains and runnables become ``task`` spans (a root chain a ``workflow``),
tools ``execute_tool`` spans, retrievers ``retrieval`` spans, chat models and
LLMs LLM spans (through ``LLMInvocation``: provider, models, sampling
settings, usage, cost, time to first token). Each span's parent is its
LangChain parent run's span; a root run nests under the span current when it
starts. The handler is synchronous and ``run_inline``, so LangChain calls it
in the caller's context for async runs too. See ``docs/langchain.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Tracer
from opentelemetry.util.types import AttributeValue

from ... import semconv
from ..._errors import internal_errors, is_strict
from ..._genai.lifecycle import LLMInvocation
from ..._genai.telemetry import given_telemetry
from ..._prompts import prompt as prompts
from ..._runtime import runtime
from ..._serialize import truncate_text
from ..._spans import (
    TracedSpan,
    content_attribute,
    redacted,
    span_name,
    start,
    static_attributes,
)
from . import _extract as ex
from . import _patches
from ._runs import Run, registry
from ._scope import clean, fill_slot


def _sdk_instrumented(name: str | None) -> bool:
    """True when llmtrace's instrumentation ``name`` is on (it owns the LLM span then)."""
    module = sys.modules.get(f"llmtrace.instrumentation.{name}") if name else None
    check = getattr(module, "is_instrumented", None)
    return bool(check()) if callable(check) else False


class LLMTraceCallbackHandler(BaseCallbackHandler):
    """Records LangChain and LangGraph runs as llmtrace spans (see module docstring)."""

    run_inline = True

    def __init__(self, *, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        """``tracer_provider`` / ``meter_provider``: where this handler's spans and metrics
        go (OpenTelemetry's instrumentor contract); by default llmtrace's own setup."""
        super().__init__()
        self._tracer, self._instruments = given_telemetry(tracer_provider, meter_provider)
        with internal_errors:
            _patches.install_scopes()

    @property
    def raise_error(self) -> bool:  # type: ignore[override]  # a plain attribute upstream
        # Under llmtrace's own tests, our bugs must reach the test, not LangChain's log.
        return is_strict()

    # -- starts: LangChain calls each by name; one path (_start) opens every run --------
    def on_chain_start(self, serialized: dict[str, Any] | None, inputs: Any, **kwargs: Any) -> None:
        self._start("chain", self._chain_start, serialized, inputs, kwargs)

    def on_tool_start(
        self, serialized: dict[str, Any] | None, input_str: str, **kwargs: Any
    ) -> None:
        self._start("tool", self._tool_start, serialized, input_str, kwargs)

    def on_retriever_start(
        self, serialized: dict[str, Any] | None, query: str, **kwargs: Any
    ) -> None:
        self._start("retriever", self._retriever_start, serialized, query, kwargs)

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[Any]], **kwargs: Any
    ) -> None:
        self._start("llm", self._chat_start, serialized, messages, kwargs)

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], **kwargs: Any) -> None:
        self._start("llm", self._completion_start, serialized, prompts, kwargs)

    # -- ends: LangChain calls each by name; one path (_end) ends every run ------------
    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, kwargs, outputs, None)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, kwargs, output, None)

    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, kwargs, documents, None)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, kwargs, response, None)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """The failure of a chain, tool, retriever or model run (one method, four names)."""
        self._end(run_id, kwargs, None, error)

    on_tool_error = on_retriever_error = on_llm_error = on_chain_error

    # -- events within a run -----------------------------------------------------------
    def on_agent_action(self, action: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with internal_errors:
            event: dict[str, AttributeValue] = {semconv.GEN_AI_TOOL_NAME: str(action.tool)}
            self._agent_event(
                run_id,
                semconv.LLMTRACE_LANGCHAIN_AGENT_ACTION_EVENT,
                event,
                semconv.GEN_AI_TOOL_CALL_ARGUMENTS,
                getattr(action, "tool_input", None),
                output=False,
            )

    def on_agent_finish(self, finish: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with internal_errors:
            self._agent_event(
                run_id,
                semconv.LLMTRACE_LANGCHAIN_AGENT_FINISH_EVENT,
                {},
                semconv.LLMTRACE_OUTPUT,
                getattr(finish, "return_values", None),
                output=True,
            )

    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with internal_errors:
            run = _owned(run_id, self)
            if run is None:
                return
            run.chunks += 1  # also for a run whose LLM span is the OpenAI one (see pop())
            if run.inv is not None:
                run.inv.stream = True
                run.inv.mark_first_chunk()

    def on_stream_event(self, event: Any, *, run_id: UUID, **kwargs: Any) -> None:
        # stream_events(version="v3") reports deltas here instead of on_llm_new_token.
        if isinstance(event, Mapping) and event.get("event") == "content-block-delta":
            self.on_llm_new_token("", run_id=run_id)

    def on_retry(self, retry_state: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with internal_errors:
            run = _owned(run_id, self)
            span = (
                run.traced.span
                if run and run.traced
                else (run.inv.span if run and run.inv else None)
            )
            if span is not None:
                attempt = getattr(retry_state, "attempt_number", None)
                attributes: dict[str, AttributeValue] = {}
                if isinstance(attempt, int):
                    attributes[semconv.LLMTRACE_LANGCHAIN_RETRY_ATTEMPT] = attempt
                span.add_event(semconv.LLMTRACE_LANGCHAIN_RETRY_EVENT, attributes)

    # -- the one start path and what each run type adds to it --------------------------
    def _start(
        self,
        run_type: str,
        begin: Callable[[_Call, Any], None],
        serialized: Any,
        payload: Any,
        kwargs: dict[str, Any],
    ) -> None:
        with internal_errors:
            call = _call(run_type, serialized, kwargs, self._tracer)
            if call is not None:
                begin(call, payload)

    def _chain_start(self, call: _Call, inputs: Any) -> None:
        parent = call.parent
        override = (call.metadata or {}).get(ex.KIND_METADATA_KEY)
        if call.tags and ex.HIDDEN_TAG in call.tags:
            # LangGraph's internal plumbing: no span; its children attach to our parent.
            hidden = Run(call.run_id, self, parent, call.context, "hidden", call.name)
            hidden.kind_override = override
            if registry.add(hidden):
                fill_slot(hidden, "chain")
            return
        kind = ex.chain_kind(
            parent.kind_override if parent else None, parent is not None, override, call.serialized
        )
        prompt = (
            _safe(_prompt_attributes, None, call.serialized, inputs, call.name, call.metadata)
            if call.run_type == "prompt"
            else None
        )
        if prompt:
            call.attributes.update(prompt)
        run = self._open(call, kind, _chain_output, override)
        if run is None or run.traced is None:
            return
        fill_slot(run, "chain")  # Python 3.10 LangGraph nodes (see _scope.node_scope)
        if prompt and parent is not None:
            parent.prompt = prompt
        traced = run.traced
        if traced._capture_input and traced.is_recording and not _deferred(inputs, call.kwargs):
            traced.set_input(ex.simplify(inputs))

    def _tool_start(self, call: _Call, input_str: str) -> None:
        call.attributes[semconv.GEN_AI_TOOL_TYPE] = "function"
        call_id = call.kwargs.get("tool_call_id")
        if isinstance(call_id, str) and call_id:
            call.attributes[semconv.GEN_AI_TOOL_CALL_ID] = call_id
        run = self._open(call, "tool", _tool_output)
        if run is not None and run.traced is not None and run.traced._capture_input:
            inputs = call.kwargs.get("inputs")
            run.traced.set_input(inputs if inputs is not None else input_str)

    def _retriever_start(self, call: _Call, query: str) -> None:
        run = self._open(call, "retriever", _retriever_output)
        if run is None or run.traced is None:
            return
        fill_slot(run)
        if run.traced._capture_input:
            keep, value = redacted(query)
            if keep and value is not None:
                text = value if isinstance(value, str) else str(value)
                run.traced.set_attribute(
                    semconv.GEN_AI_RETRIEVAL_QUERY_TEXT,
                    truncate_text(text, runtime.max_attribute_bytes),
                )

    def _chat_start(self, call: _Call, messages: list[list[Any]]) -> None:
        inv = self._llm_start(semconv.OP_CHAT, call)
        if inv is not None and inv.capture_content:
            inv.input_messages = ex.messages_to_genai(messages[0] if messages else [])

    def _completion_start(self, call: _Call, prompts: list[str]) -> None:
        inv = self._llm_start(semconv.OP_TEXT_COMPLETION, call)
        if inv is not None and inv.capture_content and prompts:
            inv.input_messages = ex.prompt_to_genai(prompts[0])

    def _llm_start(self, operation: str, call: _Call) -> LLMInvocation | None:
        parent = call.parent
        prompt = parent.nearest_prompt() if parent is not None else None
        if prompt:
            call.attributes.update(prompt)
        params = ex.mapping(call.kwargs.get("invocation_params"))
        run = Run(call.run_id, self, parent, call.context, "llm", call.name)
        if _sdk_instrumented(ex.sdk_instrumentation(call.serialized)):
            # The SDK's span beneath is the LLM span; it inherits the run's attributes.
            run.hand_down = call.attributes
        else:
            inv = LLMInvocation(
                operation=operation,
                provider=_safe(
                    ex.provider_name, "langchain", call.serialized, call.metadata, params
                ),
            )
            with internal_errors:  # without the request fields, the span still records the call
                ex.fill_request(inv, params, call.metadata, call.kwargs.get("options"))
            inv.attributes.update(call.attributes)
            token = otel_context.attach(call.context)
            try:
                inv.instruments = self._instruments
                started = inv.start(check_budget=False, tracer=self._tracer)
            finally:
                otel_context.detach(token)
            if not started or inv.span is None:
                return None
            run.inv = inv
            run.context = trace.set_span_in_context(inv.span, call.context)
            if inv.capture_content:
                with internal_errors:  # the span is open: nothing here may skip registering it
                    inv.tool_definitions = ex.tool_definitions(params)
        if not registry.add(run):
            if run.inv is not None:
                run.inv.stop()
            return None
        fill_slot(run)
        return run.inv

    def _open(
        self,
        call: _Call,
        kind: str,
        record_output: Callable[[TracedSpan, Any], None],
        kind_override: object = None,
    ) -> Run | None:
        """Start the span of a chain, tool or retriever run and register the run."""
        traced = start(
            span_name(call.name, kind),
            kind,
            static_attributes(call.name, kind, call.attributes),
            None,
            None,
            context=call.context,
            tracer=self._tracer,
        )
        if traced is None:
            return None
        context = trace.set_span_in_context(traced.span, call.context)
        run = Run(call.run_id, self, call.parent, context, kind, call.name)
        run.traced = traced
        run.record_output = record_output
        run.kind_override = kind_override
        if not registry.add(run):
            traced.span.end()
            return None
        return run

    # -- the one end path --------------------------------------------------------------
    def _end(
        self, run_id: UUID, kwargs: Mapping[str, Any], output: Any, error: BaseException | None
    ) -> None:
        with internal_errors:
            run = registry.pop(run_id, self)
            if run is None:
                return
            _late_input(run, kwargs)
            if error is not None:
                run.end_with_error(error)
            elif run.inv is not None:
                _end_model(run, run.inv, output)
            elif run.traced is not None and run.record_output is not None:
                _end_with_output(run, run.traced, run.record_output, output)

    def _agent_event(
        self,
        run_id: UUID,
        name: str,
        event: dict[str, AttributeValue],
        content_key: str,
        content: Any,
        *,
        output: bool,
    ) -> None:
        """An agent step on a chain's span (which becomes an agent span); ``content``
        (the step's input, or with ``output`` its output) goes in when captured."""
        run = _owned(run_id, self)
        if run is None or run.traced is None:
            return
        run.become_agent()
        traced = run.traced
        if traced._capture_output if output else traced._capture_input:
            text = content_attribute(content)
            if text is not None:
                event[content_key] = text
        traced.span.add_event(name, event)


class _Call(NamedTuple):
    """What every run's start carries, checked and normalised (see ``_call``)."""

    run_id: UUID
    run_type: str
    name: str
    parent: Run | None
    context: Context
    serialized: dict[str, Any] | None
    tags: list[str] | None
    metadata: dict[str, Any] | None
    attributes: dict[str, AttributeValue]
    kwargs: Mapping[str, Any]


def _call(
    run_type: str, serialized: Any, kwargs: dict[str, Any], tracer: Tracer | None
) -> _Call | None:
    """A run's start as LangChain reports it; None when it is not ours to trace."""
    run_id = kwargs.pop("run_id")
    parent, parent_ctx = _parent(run_id, kwargs.pop("parent_run_id", None), tracer)
    if parent_ctx is None:
        return None
    serialized = ex.mapping(serialized)
    tags = ex.tag_list(kwargs.pop("tags", None))
    metadata = ex.mapping(kwargs.pop("metadata", None))
    name = _safe(ex.run_name, run_type, serialized, kwargs, run_type)
    # A chain's run_type says more ("prompt", "parser", ...) than the callback's name.
    run_type = str(kwargs.get("run_type") or run_type)
    attributes = _safe(ex.run_attributes, _no_attributes(), run_id, run_type, name, tags, metadata)
    return _Call(
        run_id, run_type, name, parent, parent_ctx, serialized, tags, metadata, attributes, kwargs
    )


T = TypeVar("T")


def _no_attributes() -> dict[str, AttributeValue]:
    return {}


def _safe(extract: Callable[..., T], fallback: T, *args: Any) -> T:
    """Run an extractor; a bug in it costs its own piece of the span, never the span."""
    with internal_errors:
        return extract(*args)
    return fallback


def _parent(
    run_id: UUID, parent_run_id: UUID | None, tracer: Tracer | None
) -> tuple[Run | None, Context | None]:
    """The parent run (if traced) and the context to start under; (None, None) = no tracing."""
    if (tracer is None and runtime.tracer() is None) or registry.get(run_id) is not None:
        # Tracing off, or another llmtrace handler on this manager already traces the run.
        return None, None
    parent = registry.get(parent_run_id)
    if parent is not None:
        return parent, parent.context
    # A root run (or one whose parent we never saw): nest under the current span.
    _patches.install_scopes()  # no-op once installed; back after an uninstrument
    return None, clean(otel_context.get_current())


def _owned(run_id: UUID, owner: object) -> Run | None:
    run = registry.get(run_id)
    return run if run is not None and run.owner is owner else None


def _prompt_attributes(
    serialized: Mapping[str, Any] | None,
    inputs: Any,
    name: str,
    metadata: Mapping[str, Any] | None,
) -> dict[str, AttributeValue] | None:
    template = ex.prompt_template(serialized)
    if template is None:
        return None
    meta = metadata or {}
    prompt_name = meta.get(ex.PROMPT_NAME_KEY)
    version = meta.get(ex.PROMPT_VERSION_KEY)
    return prompts.prompt_span_attributes(
        str(prompt_name) if prompt_name else name,
        template,
        inputs if isinstance(inputs, Mapping) else None,
        version=version if isinstance(version, (str, int)) else None,
    )


# What LangChain passes as a streamed run's inputs at start (``stream``/``astream``): the
# real input arrives with ``on_chain_end(..., inputs=...)`` once the input stream is read.
_DEFERRED_PLACEHOLDER = {"input": ""}


def _deferred(inputs: Any, kwargs: Mapping[str, Any]) -> bool:
    """True when ``inputs`` is LangChain's placeholder for an input that comes at the end."""
    return bool(kwargs.get("defers_inputs")) or inputs == _DEFERRED_PLACEHOLDER


def _late_input(run: Run | None, kwargs: Mapping[str, Any]) -> None:
    """Record the input LangChain hands over at the end of a streamed run."""
    if run is None or run.traced is None or "inputs" not in kwargs:
        return
    traced = run.traced
    if traced._capture_input and traced.is_recording:
        with internal_errors:
            traced.set_input(ex.simplify(kwargs["inputs"]))


def _end_with_output(
    run: Run, traced: TracedSpan, record_output: Callable[[TracedSpan, Any], None], output: Any
) -> None:
    """End a chain, tool or retriever span, recording its output."""
    try:
        run.mark_cut_short()
        if traced.is_recording:
            record_output(traced, output)
    finally:  # a failed extraction must not leave the span open
        traced.end()


def _chain_output(traced: TracedSpan, outputs: Any) -> None:
    if traced._capture_output:
        traced.set_output(ex.simplify(outputs))


def _tool_output(traced: TracedSpan, output: Any) -> None:
    if traced._capture_output:
        traced.set_output(ex.tool_output(output))


def _retriever_output(traced: TracedSpan, documents: Sequence[Any]) -> None:
    traced.set_attribute(semconv.LLMTRACE_RETRIEVAL_DOCUMENT_COUNT, len(documents))
    if traced._capture_output:
        text = content_attribute(ex.documents_to_genai(documents))
        if text is not None:
            traced.set_attribute(semconv.GEN_AI_RETRIEVAL_DOCUMENTS, text)


def _end_model(run: Run, inv: LLMInvocation, response: Any) -> None:
    """End a model run's LLM span with the response's fields."""
    try:
        if run.chunks:
            inv.attributes[semconv.LLMTRACE_STREAM_CHUNKS] = run.chunks
        if inv.is_recording:
            with internal_errors:  # a failed extraction costs the response fields only
                ex.fill_response(inv, response)
    finally:
        inv.stop()
