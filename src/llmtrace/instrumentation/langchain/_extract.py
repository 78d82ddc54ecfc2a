"""Pure functions from LangChain callback data to llmtrace fields and attributes.

Nothing here touches spans or context: each function takes the plain values a
callback receives (``serialized`` dicts, ``invocation_params``, ``metadata``,
``LLMResult``, messages, documents) and returns names, kinds, attributes or
``LLMInvocation`` fields, so each can be tested on its own. LangChain objects
are read by attribute name (duck typing); nothing is imported from LangChain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.util.types import AttributeValue

from ... import semconv
from ..._genai import providers
from ..._genai.lifecycle import LLMInvocation
from ..._genai.messages import finish_reason, role_of
from ..._genai.tokens import usage_from_langchain
from ..._genai.values import as_number, as_strings, as_whole_number
from ..._serialize import to_attribute, to_json
from ..._spans import SPAN_KINDS

# LangChain namespace -> the llmtrace instrumentation of the SDK its models call, which
# then owns the LLM span (one row per SDK instrumentation).
_SDK_INSTRUMENTATIONS: dict[str, str] = {
    "openai": "openai",
    "azure_openai": "openai",
    "anthropic": "anthropic",
    "langchain_google_genai": "google_genai",
}

_TEMPLATE_ROLES: dict[str, str] = {
    "SystemMessagePromptTemplate": "system",
    "HumanMessagePromptTemplate": "user",
    "AIMessagePromptTemplate": "assistant",
    "SystemMessage": "system",
    "HumanMessage": "user",
    "AIMessage": "assistant",
}
# Metadata LangChain adds itself: ls_* become GenAI attributes, lc_* are versions.
_INTERNAL_METADATA_PREFIXES = ("ls_", "lc_")
# Tags LangChain and LangGraph add for their own bookkeeping.
_INTERNAL_TAG_PREFIXES = ("seq:step:", "graph:step:", "map:key:", "langsmith:")
MAX_METADATA_KEYS = 32
_METADATA_VALUE_BYTES = 256
_SCORE_KEYS = ("score", "relevance_score", "similarity_score", "_score", "distance")
_ID_KEYS = ("id", "doc_id", "document_id", "source_id")

HIDDEN_TAG = "langsmith:hidden"
KIND_METADATA_KEY = "llmtrace_kind"
PROMPT_NAME_KEY = "llmtrace_prompt_name"
PROMPT_VERSION_KEY = "llmtrace_prompt_version"


# -- names, kinds, run attributes ------------------------------------------------------


def tag_list(value: Any) -> list[str] | None:
    """Tags as LangChain should pass them (a list of str); anything else dropped."""
    if isinstance(value, (list, tuple)):
        return [tag for tag in value if isinstance(tag, str)]
    return None


def mapping(value: Any) -> dict[str, Any] | None:
    """A dict argument (metadata, serialized, invocation_params), or None if it is not one."""
    if isinstance(value, dict):
        return value
    return dict(value) if isinstance(value, Mapping) else None


def run_name(serialized: Mapping[str, Any] | None, kwargs: Mapping[str, Any], default: str) -> str:
    """The run's name as LangChain shows it: the explicit name, else the serialized one."""
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if isinstance(serialized, Mapping):
        name = serialized.get("name")
        if isinstance(name, str) and name:
            return name
        ids = serialized.get("id")
        if isinstance(ids, list) and ids and isinstance(ids[-1], str):
            return ids[-1]
    return default


def class_name(serialized: Mapping[str, Any] | None) -> str | None:
    if isinstance(serialized, Mapping):
        ids = serialized.get("id")
        if isinstance(ids, list) and ids and isinstance(ids[-1], str):
            return ids[-1]
    return None


def run_attributes(
    run_id: object,
    run_type: str,
    name: str | None,
    tags: Sequence[str] | None,
    metadata: Mapping[str, Any] | None,
) -> dict[str, AttributeValue]:
    """Run id, type, name, tags and (user) metadata, as attributes."""
    attributes: dict[str, AttributeValue] = {
        semconv.LLMTRACE_LANGCHAIN_RUN_ID: str(run_id),
        semconv.LLMTRACE_LANGCHAIN_RUN_TYPE: run_type,
    }
    if name:
        attributes[semconv.LLMTRACE_LANGCHAIN_RUN_NAME] = name
    if tags:
        kept = [str(tag) for tag in tags if not str(tag).startswith(_INTERNAL_TAG_PREFIXES)]
        if kept:
            attributes[semconv.LLMTRACE_LANGCHAIN_TAGS] = kept
    if metadata:
        count = 0
        for key, value in metadata.items():
            key = str(key)
            if key.startswith(_INTERNAL_METADATA_PREFIXES):
                continue
            attributes[semconv.LLMTRACE_LANGCHAIN_METADATA_PREFIX + key] = _attribute(value)
            count += 1
            if count >= MAX_METADATA_KEYS:
                break
    return attributes


def _attribute(value: Any) -> AttributeValue:
    return to_attribute(value, _METADATA_VALUE_BYTES)


def chain_kind(parent_override: object, has_parent: bool, override: object, serialized: Any) -> str:
    """workflow for a root chain, task below it, agent for AgentExecutor; or the override.

    Metadata is inherited by child runs, so an override applies only to the run
    whose parent does not carry the same one.
    """
    if (
        isinstance(override, str)
        and override in SPAN_KINDS
        and override != "llm"
        and parent_override != override
    ):
        return override
    if class_name(serialized) == "AgentExecutor":
        return "agent"
    return "task" if has_parent else "workflow"


def tool_output(output: Any) -> Any:
    """A tool's result: a ``ToolMessage``'s content, else the value itself."""
    content = getattr(output, "content", None)
    if content is not None and hasattr(output, "tool_call_id"):
        return content
    return output


# -- LLM runs ----------------------------------------------------------------------------


def provider_name(
    serialized: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    invocation_params: Mapping[str, Any] | None,
) -> str:
    """GenAI provider name from ``ls_provider``, else the class's namespace, else its type."""
    raw = metadata.get("ls_provider") if metadata else None
    if not isinstance(raw, str) or not raw:
        raw = _namespace(serialized)
    if not isinstance(raw, str) or not raw:
        raw = invocation_params.get("_type") if invocation_params else None
    if not isinstance(raw, str) or not raw:
        return "langchain"
    return providers.by_alias(raw)


def _namespace(serialized: Mapping[str, Any] | None) -> str | None:
    """'openai' for ['langchain', 'chat_models', 'openai', 'ChatOpenAI']."""
    if not isinstance(serialized, Mapping):
        return None
    ids = serialized.get("id")
    if isinstance(ids, list) and len(ids) >= 4 and ids[0] == "langchain":
        value = ids[2]
        return value if isinstance(value, str) else None
    return None


def sdk_instrumentation(serialized: Mapping[str, Any] | None) -> str | None:
    """The llmtrace instrumentation under this LangChain class's calls ('openai', ...)."""
    namespace = _namespace(serialized)
    if namespace is None and isinstance(serialized, Mapping):
        ids = serialized.get("id")  # partner packages: ['langchain_google_genai', ...]
        namespace = ids[0] if isinstance(ids, list) and ids else None
    return _SDK_INSTRUMENTATIONS.get(namespace) if isinstance(namespace, str) else None


def _first_str(*values: Any) -> str | None:
    for value in values:
        if isinstance(value, str) and value:
            return value
    return None


def fill_request(
    inv: LLMInvocation,
    invocation_params: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    options: Mapping[str, Any] | None,
) -> None:
    """Request model and sampling settings from ``invocation_params`` and ``ls_*`` metadata."""
    params: Mapping[str, Any] = invocation_params or {}
    meta: Mapping[str, Any] = metadata or {}
    inv.request_model = _first_str(
        params.get("model"),
        params.get("model_name"),
        params.get("model_id"),
        params.get("deployment_name"),
        params.get("azure_deployment"),
        meta.get("ls_model_name"),
    )
    inv.temperature = as_number(params.get("temperature", meta.get("ls_temperature")))
    inv.top_p = as_number(params.get("top_p"))
    inv.top_k = as_number(params.get("top_k"))
    inv.max_tokens = as_whole_number(
        params.get("max_tokens")
        or params.get("max_completion_tokens")
        or params.get("max_output_tokens")
        or meta.get("ls_max_tokens")
    )
    inv.seed = as_whole_number(params.get("seed"))
    inv.frequency_penalty = as_number(params.get("frequency_penalty"))
    inv.presence_penalty = as_number(params.get("presence_penalty"))
    count = as_whole_number(params.get("n"))
    inv.choice_count = count if count is not None and count != 1 else None
    stop = (options or {}).get("stop") or params.get("stop") or meta.get("ls_stop")
    stop_sequences = [stop] if isinstance(stop, str) else as_strings(stop)
    if stop_sequences is not None:
        inv.stop_sequences = stop_sequences
    if params.get("stream") is True or params.get("streaming") is True:
        inv.stream = True


def tool_definitions(invocation_params: Mapping[str, Any] | None) -> Any:
    tools = (invocation_params or {}).get("tools")
    return tools if isinstance(tools, list) and tools else None


def fill_response(inv: LLMInvocation, response: Any) -> None:
    """Response model, id, finish reasons, usage and output messages from an ``LLMResult``."""
    generations = getattr(response, "generations", None) or []
    first = generations[0] if generations and isinstance(generations[0], list) else []
    llm_output = getattr(response, "llm_output", None)
    output = llm_output if isinstance(llm_output, Mapping) else {}
    finish_reasons: list[str] = []
    usage_metadata = None
    response_metadata: Mapping[str, Any] = {}
    outputs: list[dict[str, Any]] = []
    for generation in first:
        info = getattr(generation, "generation_info", None) or {}
        message = getattr(generation, "message", None)
        meta = getattr(message, "response_metadata", None) or {}
        if not response_metadata and meta:
            response_metadata = meta
        if usage_metadata is None:
            usage_metadata = getattr(message, "usage_metadata", None)
        reason = _first_str(
            info.get("finish_reason"), meta.get("finish_reason"), meta.get("stop_reason")
        )
        if reason:
            finish_reasons.append(reason)
        if inv.capture_content:
            outputs.append(_output_message(generation, message, reason))
    inv.response_model = _first_str(
        response_metadata.get("model_name"),
        response_metadata.get("model"),
        output.get("model_name"),
        output.get("model"),
    )
    inv.response_id = _first_str(response_metadata.get("id"), output.get("id"))
    inv.system_fingerprint = _first_str(
        response_metadata.get("system_fingerprint"), output.get("system_fingerprint")
    )
    inv.response_service_tier = _first_str(
        response_metadata.get("service_tier"), output.get("service_tier")
    )
    if finish_reasons:
        inv.finish_reasons = finish_reasons
    usage = usage_from_langchain(usage_metadata=usage_metadata, llm_output=llm_output)
    if usage is not None:
        inv.usage = usage
    if outputs:
        inv.output_messages = outputs


def _output_message(generation: Any, message: Any, reason: str | None) -> dict[str, Any]:
    if message is not None:
        converted = message_to_genai(message)
    else:
        text = getattr(generation, "text", "")
        converted = {"role": "assistant", "parts": [{"type": "text", "content": text}]}
    converted["finish_reason"] = finish_reason(reason or "stop")
    return converted


# -- messages (GenAI conventions' JSON shape) ----------------------------------------------


def message_to_genai(message: Any) -> dict[str, Any]:
    """A LangChain message as ``{"role": ..., "parts": [...]}``."""
    kind = getattr(message, "type", None) or "user"
    role = role_of(str(kind).replace("Chunk", "").lower())
    if kind == "chat":
        role = str(getattr(message, "role", "user"))
    parts: list[dict[str, Any]] = []
    content = getattr(message, "content", None)
    if role == "tool":
        parts.append(
            {
                "type": "tool_call_response",
                "id": getattr(message, "tool_call_id", None),
                "response": content,
            }
        )
    else:
        parts.extend(_content_parts(content))
    for call in getattr(message, "tool_calls", None) or ():
        if isinstance(call, Mapping):
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": call.get("name"),
                    "arguments": call.get("args"),
                }
            )
    return {"role": role, "parts": parts}


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts: list[dict[str, Any]] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, str):
                parts.append({"type": "text", "content": block})
            elif isinstance(block, Mapping) and block.get("type") == "text":
                parts.append({"type": "text", "content": block.get("text", "")})
            elif isinstance(block, Mapping):
                parts.append({"type": str(block.get("type", "unknown")), "content": dict(block)})
    return parts


def messages_to_genai(messages: Sequence[Any]) -> list[dict[str, Any]]:
    return [message_to_genai(message) for message in messages]


def prompt_to_genai(prompt: str) -> list[dict[str, Any]]:
    return [{"role": "user", "parts": [{"type": "text", "content": prompt}]}]


def simplify(value: Any) -> Any:
    """Chain inputs/outputs made readable: messages and documents as small dicts."""
    if isinstance(value, Mapping):
        return {str(k): simplify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [simplify(v) for v in value]
    if hasattr(value, "page_content") and hasattr(value, "metadata"):
        return document_to_dict(value, with_content=True)
    if hasattr(value, "content") and hasattr(value, "type") and hasattr(value, "response_metadata"):
        message = message_to_genai(value)
        return message
    to_messages = getattr(value, "to_messages", None)
    if callable(to_messages) and type(value).__name__.endswith("PromptValue"):
        return [message_to_genai(m) for m in to_messages()]
    return value


# -- retrievers ----------------------------------------------------------------------------


def document_to_dict(document: Any, with_content: bool) -> dict[str, Any]:
    metadata = getattr(document, "metadata", None)
    meta: Mapping[str, Any] = metadata if isinstance(metadata, Mapping) else {}
    doc_id = getattr(document, "id", None) or next(
        (meta[k] for k in _ID_KEYS if meta.get(k) is not None), None
    )
    entry: dict[str, Any] = {}
    if doc_id is not None:
        entry["id"] = str(doc_id)
    score = next((meta[k] for k in _SCORE_KEYS if as_number(meta.get(k)) is not None), None)
    if score is not None:
        entry["score"] = score
    if with_content:
        entry["content"] = getattr(document, "page_content", None)
    if meta:
        entry["metadata"] = dict(meta)
    return entry


def documents_to_genai(documents: Sequence[Any]) -> list[dict[str, Any]]:
    return [document_to_dict(document, with_content=True) for document in documents]


# -- prompt templates ----------------------------------------------------------------------


def prompt_template(serialized: Mapping[str, Any] | None) -> str | list[dict[str, str]] | None:
    """A prompt template's text (``PromptTemplate``) or role/content messages (chat)."""
    if not isinstance(serialized, Mapping):
        return None
    kwargs = serialized.get("kwargs")
    if not isinstance(kwargs, Mapping):
        return None
    template = kwargs.get("template")
    if isinstance(template, str):
        return template
    messages = kwargs.get("messages")
    if not isinstance(messages, list):
        return None
    out: list[dict[str, str]] = []
    for item in messages:
        if not isinstance(item, Mapping):
            continue
        cls = class_name(item) or ""
        raw = item.get("kwargs")
        inner: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        if cls == "MessagesPlaceholder":
            out.append(
                {"role": "placeholder", "content": "{" + str(inner.get("variable_name")) + "}"}
            )
            continue
        role = _TEMPLATE_ROLES.get(cls) or str(inner.get("role") or "user")
        prompt = inner.get("prompt")
        text: Any = None
        if isinstance(prompt, Mapping):
            text = (prompt.get("kwargs") or {}).get("template")
        elif "content" in inner:
            text = inner.get("content")
        out.append(
            {"role": role, "content": text if isinstance(text, str) else to_json(text, 4096)}
        )
    return out or None
