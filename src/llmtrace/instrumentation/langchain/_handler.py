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
from typing import Any, TypeVar
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
from ..._spans import content_attribute, redacted, span_name, start, static_attributes
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

    # -- chains, runnables, LangGraph nodes --------------------------------------------
    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        with internal_errors:
            self._chain_start(
                ex.mapping(serialized),
                inputs,
                run_id,
                parent_run_id,
                ex.tag_list(tags),
                ex.mapping(metadata),
                kwargs,
            )

    def _chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        kwargs: Mapping[str, Any],
    ) -> None:
        parent, parent_ctx = _parent(run_id, parent_run_id, self._tracer)
        if parent_ctx is None:
            return
        name = _safe(ex.run_name, "chain", serialized, kwargs, "chain")
        override = (metadata or {}).get(ex.KIND_METADATA_KEY)
        if tags and ex.HIDDEN_TAG in tags:
            # LangGraph's internal plumbing: no span; its children attach to our parent.
            run = Run(run_id, self, parent, parent_ctx, "hidden", name)
            run.kind_override = override
            if registry.add(run):
                fill_slot(run, "chain")
            return
        kind = ex.chain_kind(
            parent.kind_override if parent else None, parent is not None, override, serialized
        )
        run_type = kwargs.get("run_type") or "chain"
        attributes = _safe(
            ex.run_attributes, _no_attributes(), run_id, str(run_type), name, tags, metadata
        )
        prompt = (
            _safe(_prompt_attributes, None, serialized, inputs, name, metadata)
            if run_type == "prompt"
            else None
        )
        if prompt:
            attributes.update(prompt)
        traced = start(
            span_name(name, kind),
            kind,
            static_attributes(name, kind, attributes),
            None,
            None,
            context=parent_ctx,
            tracer=self._tracer,
        )
        if traced is None:
            return
        run = Run(
            run_id, self, parent, trace.set_span_in_context(traced.span, parent_ctx), kind, name
        )
        run.traced = traced
        run.kind_override = override
        if not registry.add(run):
            traced.span.end()
            return
        fill_slot(run, "chain")  # Python 3.10 LangGraph nodes (see _scope.node_scope)
        if prompt and parent is not None:
            parent.prompt = prompt
        if traced._capture_input and traced.is_recording and not _deferred(inputs, kwargs):
            traced.set_input(ex.simplify(inputs))

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with internal_errors:
            run = registry.pop(run_id, self)
            _late_input(run, kwargs)
            _end_with_output(run, ex.simplify, outputs)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with internal_errors:
            run = registry.pop(run_id, self)
            _late_input(run, kwargs)
            _end_with_error(run, error)

    def on_agent_action(self, action: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with internal_errors:
            run = _owned(run_id, self)
            if run is None or run.traced is None:
                return
            run.become_agent()
            event: dict[str, AttributeValue] = {semconv.GEN_AI_TOOL_NAME: str(action.tool)}
            if run.traced._capture_input:
                arguments = content_attribute(getattr(action, "tool_input", None))
                if arguments is not None:
                    event[semconv.GEN_AI_TOOL_CALL_ARGUMENTS] = arguments
            run.traced.span.add_event(semconv.LLMTRACE_LANGCHAIN_AGENT_ACTION_EVENT, event)

    def on_agent_finish(self, finish: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with internal_errors:
            run = _owned(run_id, self)
            if run is None or run.traced is None:
                return
            run.become_agent()
            event: dict[str, AttributeValue] = {}
            if run.traced._capture_output:
                output = content_attribute(getattr(finish, "return_values", None))
                if output is not None:
                    event[semconv.LLMTRACE_OUTPUT] = output
            run.traced.span.add_event(semconv.LLMTRACE_LANGCHAIN_AGENT_FINISH_EVENT, event)

    # -- tools -------------------------------------------------------------------------
    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        with internal_errors:
            serialized, tags, metadata = _normalise(serialized, tags, metadata)
            name = _safe(ex.run_name, "tool", serialized, kwargs, "tool")
            extra = _safe(ex.run_attributes, _no_attributes(), run_id, "tool", name, tags, metadata)
            extra[semconv.GEN_AI_TOOL_TYPE] = "function"
            call_id = kwargs.get("tool_call_id")
            if isinstance(call_id, str) and call_id:
                extra[semconv.GEN_AI_TOOL_CALL_ID] = call_id
            run = self._start_span(run_id, parent_run_id, "tool", name, extra)
            if run is not None and run.traced is not None and run.traced._capture_input:
                run.traced.set_input(inputs if inputs is not None else input_str)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with internal_errors:
            _end_with_output(registry.pop(run_id, self), ex.tool_output, output)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with internal_errors:
            _end_with_error(registry.pop(run_id, self), error)

    # -- retrievers --------------------------------------------------------------------
    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        with internal_errors:
            serialized, tags, metadata = _normalise(serialized, tags, metadata)
            name = _safe(ex.run_name, "retriever", serialized, kwargs, "retriever")
            extra = _safe(
                ex.run_attributes, _no_attributes(), run_id, "retriever", name, tags, metadata
            )
            run = self._start_span(run_id, parent_run_id, "retriever", name, extra)
            if run is not None:
                fill_slot(run)
            if run is not None and run.traced is not None and run.traced._capture_input:
                keep, value = redacted(query)
                if keep and value is not None:
                    text = value if isinstance(value, str) else str(value)
                    run.traced.set_attribute(
                        semconv.GEN_AI_RETRIEVAL_QUERY_TEXT,
                        truncate_text(text, runtime.max_attribute_bytes),
                    )

    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        with internal_errors:
            run = registry.pop(run_id, self)
            if run is None or run.traced is None:
                return
            traced = run.traced
            try:
                if traced.is_recording:
                    traced.set_attribute(semconv.LLMTRACE_RETRIEVAL_DOCUMENT_COUNT, len(documents))
                    if traced._capture_output:
                        text = content_attribute(ex.documents_to_genai(documents))
                        if text is not None:
                            traced.set_attribute(semconv.GEN_AI_RETRIEVAL_DOCUMENTS, text)
            finally:  # a failed extraction must not leave the span open
                traced.end()

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with internal_errors:
            _end_with_error(registry.pop(run_id, self), error)

    # -- LLMs and chat models ----------------------------------------------------------
    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        with internal_errors:
            run = self._llm_start(
                semconv.OP_CHAT, serialized, run_id, parent_run_id, tags, metadata, kwargs
            )
            if run is not None and run.inv is not None and run.inv.capture_content:
                run.inv.input_messages = ex.messages_to_genai(messages[0] if messages else [])

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        with internal_errors:
            run = self._llm_start(
                semconv.OP_TEXT_COMPLETION,
                serialized,
                run_id,
                parent_run_id,
                tags,
                metadata,
                kwargs,
            )
            if run is not None and run.inv is not None and run.inv.capture_content and prompts:
                run.inv.input_messages = ex.prompt_to_genai(prompts[0])

    def _llm_start(
        self,
        operation: str,
        serialized: dict[str, Any] | None,
        run_id: UUID,
        parent_run_id: UUID | None,
        tags: list[str] | None,
        metadata: dict[str, Any] | None,
        kwargs: Mapping[str, Any],
    ) -> Run | None:
        parent, parent_ctx = _parent(run_id, parent_run_id, self._tracer)
        if parent_ctx is None:
            return None
        serialized, tags, metadata = _normalise(serialized, tags, metadata)
        name = _safe(ex.run_name, "llm", serialized, kwargs, "llm")
        attributes = _safe(ex.run_attributes, _no_attributes(), run_id, "llm", name, tags, metadata)
        prompt = parent.nearest_prompt() if parent is not None else None
        if prompt:
            attributes.update(prompt)
        params = ex.mapping(kwargs.get("invocation_params"))
        run = Run(run_id, self, parent, parent_ctx, "llm", name)
        if _sdk_instrumented(ex.sdk_instrumentation(serialized)):
            # The SDK's span beneath is the LLM span; it inherits the run's attributes.
            run.hand_down = attributes
        else:
            inv = LLMInvocation(
                operation=operation,
                provider=_safe(ex.provider_name, "langchain", serialized, metadata, params),
            )
            with internal_errors:  # without the request fields, the span still records the call
                ex.fill_request(inv, params, metadata, kwargs.get("options"))
            inv.attributes.update(attributes)
            token = otel_context.attach(parent_ctx)
            try:
                inv.instruments = self._instruments
                started = inv.start(check_budget=False, tracer=self._tracer)
            finally:
                otel_context.detach(token)
            if not started or inv.span is None:
                return None
            run.inv = inv
            run.context = trace.set_span_in_context(inv.span, parent_ctx)
            if inv.capture_content:
                with internal_errors:  # the span is open: nothing here may skip registering it
                    inv.tool_definitions = ex.tool_definitions(params)
        if not registry.add(run):
            if run.inv is not None:
                run.inv.stop()
            return None
        fill_slot(run)
        return run

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

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with internal_errors:
            run = registry.pop(run_id, self)
            if run is None or run.inv is None:
                return
            inv = run.inv
            try:
                if run.chunks:
                    inv.attributes[semconv.LLMTRACE_STREAM_CHUNKS] = run.chunks
                if inv.is_recording:
                    with internal_errors:  # a failed extraction costs the response fields only
                        ex.fill_response(inv, response)
            finally:
                inv.stop()

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with internal_errors:
            _end_with_error(registry.pop(run_id, self), error)

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

    # -- shared ------------------------------------------------------------------------
    def _start_span(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        kind: str,
        name: str,
        extra: dict[str, AttributeValue],
    ) -> Run | None:
        parent, parent_ctx = _parent(run_id, parent_run_id, self._tracer)
        if parent_ctx is None:
            return None
        traced = start(
            span_name(name, kind),
            kind,
            static_attributes(name, kind, extra),
            None,
            None,
            context=parent_ctx,
            tracer=self._tracer,
        )
        if traced is None:
            return None
        run = Run(
            run_id, self, parent, trace.set_span_in_context(traced.span, parent_ctx), kind, name
        )
        run.traced = traced
        if not registry.add(run):
            traced.span.end()
            return None
        return run


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


def _end_with_output(run: Run | None, convert: Callable[[Any], Any], output: Any) -> None:
    """End a run's span, recording its output (converted) when content capture is on."""
    if run is None or run.traced is None:
        return
    try:
        run.mark_cut_short()
        if run.traced._capture_output and run.traced.is_recording:
            run.traced.set_output(convert(output))
    finally:  # a failed extraction must not leave the span open
        run.traced.end()


def _end_with_error(run: Run | None, error: BaseException) -> None:
    if run is not None:
        run.end_with_error(error)


def _normalise(
    serialized: Any, tags: Any, metadata: Any
) -> tuple[dict[str, Any] | None, list[str] | None, dict[str, Any] | None]:
    """Callback arguments as LangChain documents them; wrong types become None."""
    return ex.mapping(serialized), ex.tag_list(tags), ex.mapping(metadata)
