"""``LLMTraceProcessor``: the Agents SDK's traces and spans as llmtrace spans.

The SDK calls a registered ``TracingProcessor`` when each of its traces and spans
starts and ends. This one maps them onto OpenTelemetry spans:

=====================  ==============================================================
SDK trace / span       llmtrace
=====================  ==============================================================
trace                  ``invoke_workflow {workflow name}`` (the run's root)
agent                  ``invoke_agent {agent name}`` (``gen_ai.agent.name``)
function               ``execute_tool {tool name}`` (``gen_ai.tool.*``)
custom                 a ``task`` span named after it
handoff                a ``llmtrace.agent.handoff`` event on the handing-off agent's span
response, generation   nothing: the ``openai`` client call inside is the LLM span
                       (this span is, when llmtrace's openai instrumentation is off)
guardrail              nothing: ``gen_ai.guardrail.result`` events (see ``_patches``)
task, turn, others     nothing: their children nest under the nearest span above
=====================  ==============================================================

Parenting follows the SDK's own tree (``parent_id`` / ``trace_id``); a trace nests
under the OpenTelemetry span current when it starts. Each start also makes the
mapped context current, exactly where the SDK makes its own span current (the SDK
calls ``on_span_start`` just before it sets its context variable, and
``on_span_end`` just before it resets it, in the same context), so the ``openai``
call inside a model span, and any other instrumented code inside a tool, nests
under the right agent or tool span, for sync, async and streamed runs alike. An
end in another context than its start (which the SDK avoids) detaches nothing.

Memory is bounded: open entries are dropped (oldest first) past ``MAX_OPEN``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from agents.tracing import Span, Trace, TracingProcessor
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

from ... import semconv
from ..._errors import internal_errors
from ..._genai.lifecycle import LLM_SPAN_ATTRIBUTES_KEY, LLMInvocation
from ..._runtime import runtime
from ..._spans import TracedSpan, span_name, start, static_attributes
from ._model import finish_model_call, openai_instrumented, start_model_call

MAX_OPEN = 10_000
_AGENT, _TOOL, _TASK, _WORKFLOW = "agent", "tool", "task", "workflow"
# SDK span types whose work calls a model through the openai client.
_MODEL_TYPES = frozenset({"response", "generation"})
_ERROR_TYPE = "_OTHER"  # the SDK reports span errors as messages, not exception types


class _Node:
    """One open SDK trace or span: its llmtrace span (if any) and its context."""

    __slots__ = ("agent", "agent_name", "context", "inv", "token", "tool_call_id", "traced")

    def __init__(
        self,
        traced: TracedSpan | None,
        context: Context,
        agent: TracedSpan | None,
        agent_name: str | None,
    ) -> None:
        self.traced = traced
        self.context = context
        self.agent = agent  # the nearest agent span at or above this one, and its name
        self.agent_name = agent_name
        self.token: object | None = None
        self.tool_call_id: str | None = None
        self.inv: LLMInvocation | None = None  # a model call's LLM span, when we make it


class LLMTraceProcessor(TracingProcessor):
    """An Agents SDK tracing processor that records runs as llmtrace spans.

    ``llmtrace.init()`` / ``instrument_openai_agents()`` register the one instance
    (``trace_processor()``); pass it to ``agents.set_trace_processors([...])`` when
    you replace the SDK's processors.
    """

    def __init__(self) -> None:
        self.enabled = False
        self.tracer: Tracer | None = None
        self.instruments: Any = None  # metric instruments of a meter_provider given
        self._nodes: OrderedDict[str, _Node] = OrderedDict()
        # Nodes evicted while open, kept only to undo their context when the SDK ends them.
        self._evicted: OrderedDict[str, _Node] = OrderedDict()
        self._lock = threading.Lock()

    # -- the SDK's interface ----------------------------------------------------------------
    def on_trace_start(self, trace: Trace) -> None:
        with internal_errors:
            # Registered twice (add_trace_processor after set_trace_processors([it])): once.
            if not self._tracing() or str(trace.trace_id) in self._nodes:
                return
            name = str(getattr(trace, "name", None) or "Agent workflow")
            extra: dict[str, AttributeValue] = {
                semconv.LLMTRACE_OPENAI_AGENTS_TRACE_ID: str(trace.trace_id)
            }
            group = getattr(trace, "group_id", None)
            if isinstance(group, str) and group:
                extra[semconv.GEN_AI_CONVERSATION_ID] = group
            parent = otel_context.get_current()
            traced = self._start(name, _WORKFLOW, extra, parent)
            self._open(str(trace.trace_id), traced, parent, None, None)

    def on_trace_end(self, trace: Trace) -> None:
        with internal_errors:
            node = self._close(str(trace.trace_id))
            if node is not None and node.traced is not None:
                node.traced.end()

    def on_span_start(self, span: Span[Any]) -> None:
        with internal_errors:
            if not self._tracing() or str(span.span_id) in self._nodes:
                return
            parent = self._parent(span)
            parent_ctx = parent.context if parent is not None else otel_context.get_current()
            agent = parent.agent if parent is not None else None
            agent_name = parent.agent_name if parent is not None else None
            data = span.span_data
            kind = getattr(data, "type", None)
            traced: TracedSpan | None = None
            if kind == "agent":
                agent_name = str(data.name)
                traced = agent = self._start(agent_name, _AGENT, None, parent_ctx)
            elif kind == "function":
                traced = self._start(str(data.name), _TOOL, _tool_attributes(data), parent_ctx)
            elif kind == "custom":
                traced = self._start(str(data.name), _TASK, None, parent_ctx)
            elif kind in _MODEL_TYPES:
                if agent_name is not None:
                    # The LLM span beneath names its agent (a hand-down the lifecycle reads).
                    parent_ctx = otel_context.set_value(
                        LLM_SPAN_ATTRIBUTES_KEY, {semconv.GEN_AI_AGENT_NAME: agent_name}, parent_ctx
                    )
                if not openai_instrumented():  # else the openai span inside is the LLM span
                    self._open_model_call(str(span.span_id), data, parent_ctx, agent, agent_name)
                    return
            self._open(str(span.span_id), traced, parent_ctx, agent, agent_name)

    def on_span_end(self, span: Span[Any]) -> None:
        with internal_errors:
            node = self._close(str(span.span_id))
            if node is None:
                return
            data = span.span_data
            kind = getattr(data, "type", None)
            if kind == "handoff" and node.agent is not None:
                _record_handoff(node.agent, data, span.error)
            if node.inv is not None:
                finish_model_call(node.inv, data, span.error)
            traced = node.traced
            if traced is None:
                # An error on a span without its own (a turn, a guardrail, a model call)
                # is its agent's: e.g. "Guardrail tripwire triggered" on the turn.
                if span.error and node.agent is not None:
                    _record_error(node.agent, span.error)
                return
            try:
                if kind == "function" and traced.is_recording:
                    _record_tool_content(traced, data)
                if span.error:
                    _record_error(traced, span.error)
            finally:  # a failed extraction must not leave the span open
                traced.end()

    def shutdown(self) -> None:
        return None

    def force_flush(self) -> None:
        return None

    # -- used by the patches ----------------------------------------------------------------
    def tool_call_started(self, sdk_span: Any, call_id: Any) -> None:
        """Give the open ``execute_tool`` span of ``sdk_span`` its tool call id."""
        node = self._nodes.get(str(getattr(sdk_span, "span_id", "")))
        if node is None or node.traced is None or node.tool_call_id is not None:
            return
        is_function = getattr(getattr(sdk_span, "span_data", None), "type", None) == "function"
        if is_function and isinstance(call_id, str) and call_id:
            node.tool_call_id = call_id
            node.traced.set_attribute(semconv.GEN_AI_TOOL_CALL_ID, call_id)

    def __len__(self) -> int:
        return len(self._nodes)

    # -- internals --------------------------------------------------------------------------
    def _tracing(self) -> bool:
        return self.enabled and (self.tracer is not None or runtime.tracer() is not None)

    def _start(
        self,
        name: str,
        kind: str,
        extra: Mapping[str, AttributeValue] | None,
        parent: Context,
    ) -> TracedSpan | None:
        return start(
            span_name(name, kind),
            kind,
            static_attributes(name, kind, extra),
            None,
            None,
            context=parent,
            tracer=self.tracer,
        )

    def _parent(self, span: Span[Any]) -> _Node | None:
        nodes = self._nodes
        parent_id = span.parent_id
        node = nodes.get(str(parent_id)) if parent_id else None
        return node if node is not None else nodes.get(str(span.trace_id))

    def _open(
        self,
        key: str,
        traced: TracedSpan | None,
        parent: Context,
        agent: TracedSpan | None,
        agent_name: str | None,
    ) -> None:
        context = trace.set_span_in_context(traced.span, parent) if traced is not None else parent
        node = _Node(traced, context, agent, agent_name)
        evicted: list[_Node] = []
        with self._lock:
            self._nodes[key] = node
            while len(self._nodes) > MAX_OPEN:
                old_key, old_node = self._nodes.popitem(last=False)
                evicted.append(old_node)
                self._evicted[old_key] = old_node
                if len(self._evicted) > 4 * MAX_OPEN:  # small entries: bounded further out
                    self._evicted.popitem(last=False)
        for stale in evicted:
            if stale.inv is not None:
                stale.inv.stop()
            if stale.traced is not None:
                stale.traced.end()
            stale.inv = stale.traced = stale.agent = None
        # Current from here to the matching end, as the SDK's own span is.
        node.token = otel_context.attach(context)

    def _open_model_call(
        self,
        key: str,
        data: Any,
        parent: Context,
        agent: TracedSpan | None,
        agent_name: str | None,
    ) -> None:
        inv = start_model_call(data, parent, self.tracer)
        if inv is not None:
            inv.instruments = self.instruments
            if inv.span is not None:
                parent = trace.set_span_in_context(inv.span, parent)
        self._open(key, None, parent, agent, agent_name)
        node = self._nodes.get(key)
        if node is not None:
            node.inv = inv

    def _close(self, key: str) -> _Node | None:
        with self._lock:
            node = self._nodes.pop(key, None)
            if node is None and self._evicted:
                evicted = self._evicted.pop(key, None)
                if evicted is not None and evicted.token is not None:
                    node = evicted  # its span already ended: only its context to undo
        if node is not None and node.token is not None:
            token, node.token = node.token, None
            # Only where it was attached and still current (the SDK ends spans in order).
            if otel_context.get_current() is node.context:
                otel_context.detach(token)  # type: ignore[arg-type]
        return node


def _record_error(traced: TracedSpan, error: Mapping[str, Any]) -> None:
    if traced.is_recording:
        message = str(error.get("message") or "error")[:512]
        traced.span.set_status(Status(StatusCode.ERROR, message))
        traced.set_attribute(semconv.ERROR_TYPE, _ERROR_TYPE)


def _tool_attributes(data: Any) -> dict[str, AttributeValue]:
    # MCP tools come from a server, not the application's code: the conventions' "extension".
    tool_type = "extension" if getattr(data, "mcp_data", None) else "function"
    return {semconv.GEN_AI_TOOL_TYPE: tool_type}


def _record_tool_content(traced: TracedSpan, data: Any) -> None:
    """Arguments and result (content capture only); the SDK records them as sensitive data."""
    if traced._capture_input and data.input is not None:
        arguments = data.input
        if isinstance(arguments, str):
            with contextlib.suppress(ValueError):  # not JSON: recorded as the text it is
                arguments = json.loads(arguments)
        traced.set_input(arguments)
    if traced._capture_output and data.output is not None:
        traced.set_output(data.output)


def _record_handoff(agent: TracedSpan, data: Any, error: Any) -> None:
    if not agent.is_recording:
        return
    attributes: dict[str, AttributeValue] = {}
    source, target = getattr(data, "from_agent", None), getattr(data, "to_agent", None)
    if isinstance(source, str):
        attributes[semconv.LLMTRACE_HANDOFF_FROM_AGENT] = source
    if isinstance(target, str):
        attributes[semconv.LLMTRACE_HANDOFF_TO_AGENT] = target
    if error:
        attributes[semconv.ERROR_TYPE] = _ERROR_TYPE
    agent.span.add_event(semconv.LLMTRACE_AGENT_HANDOFF_EVENT, attributes)


processor = LLMTraceProcessor()
