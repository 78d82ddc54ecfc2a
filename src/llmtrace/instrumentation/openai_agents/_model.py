"""The LLM span of a model call when llmtrace's ``openai`` instrumentation is off.

With it on (the default in ``init()``), the SDK's ``response`` / ``generation`` span
gets no span of its own: the ``openai`` client call inside it is the one LLM span.
With it off, that SDK span becomes the LLM span instead (still exactly one per call),
filled from what the SDK recorded on it: the Responses API ``response`` object, or the
generation's model, usage and Chat Completions output.

    inv = start_model_call(span_data, parent_context, tracer)
    ...the SDK's model call runs...
    finish_model_call(inv, span_data, error)
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.context import Context
from opentelemetry.trace import Status, StatusCode, Tracer

from ... import semconv
from ..._errors import internal_errors
from ..._genai import providers
from ..._genai.lifecycle import LLMInvocation
from ..._genai.tokens import normalize_usage


def openai_instrumented() -> bool:
    """True when llmtrace's openai instrumentation is on (it owns the LLM span then)."""
    module = sys.modules.get("llmtrace.instrumentation.openai")
    check = getattr(module, "is_instrumented", None)
    return bool(check()) if callable(check) else False


def start_model_call(data: Any, context: Context, tracer: Tracer | None) -> LLMInvocation | None:
    inv = LLMInvocation(operation=semconv.OP_CHAT, provider=semconv.PROVIDER_OPENAI)
    if getattr(data, "type", None) == "generation":
        model = getattr(data, "model", None)
        inv.request_model = model if isinstance(model, str) else None
        config = getattr(data, "model_config", None)
        base_url = config.get("base_url") if isinstance(config, Mapping) else None
        if isinstance(base_url, str) and base_url:
            with internal_errors:
                parts = urlsplit(base_url)
                if parts.hostname:
                    inv.provider = providers.by_host(parts.hostname, parts.port)
    # The SDK's processor interface cannot raise into the run: budgets are checked by
    # the openai instrumentation, before the request, when it is on.
    if not inv.start(check_budget=False, context=context, tracer=tracer):
        return None
    return inv


def finish_model_call(inv: LLMInvocation, data: Any, error: Mapping[str, Any] | None) -> None:
    try:
        with internal_errors:
            _fill(inv, data)
            if error and inv.span is not None:
                # The SDK reports the error as a message; the exception itself reaches the run.
                inv.error_type = "_OTHER"
                message = str(error.get("message") or "model call failed")[:512]
                inv.span.set_status(Status(StatusCode.ERROR, message))
    finally:
        inv.stop()


def _fill(inv: LLMInvocation, data: Any) -> None:
    from ..openai._request import CHAT, RESPONSES
    from ..openai._response import apply_response

    if data.type == "response":
        response = getattr(data, "response", None)
        if response is not None:
            apply_response(inv, RESPONSES, response)
    else:
        output = getattr(data, "output", None)
        first = output[0] if isinstance(output, list) and output else None
        # Streamed Chat Completions record the SDK's Response-shaped final response;
        # non-streamed ones only the assistant message (no model, no id).
        if isinstance(first, Mapping) and "choices" in first:
            apply_response(inv, CHAT, first)
        elif isinstance(first, Mapping) and first.get("object") == "response":
            apply_response(inv, RESPONSES, first)
    if inv.usage is None:
        inv.usage = normalize_usage(getattr(data, "usage", None))
