"""Strings the OTLP encoder accepts: lone surrogates in a span's strings become U+FFFD.

    batch = encodable(batch)   # the same batch, or copies of the spans that needed it
    exporter.export(batch)

The export processor runs every batch through ``encodable()`` before exporting it,
so one bad string never costs the whole batch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, Status

_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable(batch: Sequence[ReadableSpan]) -> Sequence[ReadableSpan]:
    """The batch with lone surrogates in its strings replaced by U+FFFD.

    ``json.loads`` of a bad ``\\ud83d`` escape, or a user's string, can carry a lone
    surrogate into an attribute; protobuf cannot encode it and the OTLP exporter would
    then fail the whole batch, losing every span in it. Spans are copied only when needed.
    """
    if all(_clean_span(span) for span in batch):
        return batch
    return [span if _clean_span(span) else _cleaned_span(span) for span in batch]


def _clean_text(text: str | None) -> bool:
    return text is None or text.isascii() or _SURROGATE.search(text) is None


def _clean_value(value: Any) -> bool:
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, (tuple, list)):
        return all(_clean_value(item) for item in value)
    return True


def _clean_attributes(attributes: Mapping[str, Any] | None) -> bool:
    return not attributes or all(
        _clean_text(key) and _clean_value(value) for key, value in attributes.items()
    )


def _clean_span(span: ReadableSpan) -> bool:
    return (
        _clean_text(span.name)
        and _clean_attributes(span.attributes)
        and _clean_text(span.status.description)
        and all(_clean_text(e.name) and _clean_attributes(e.attributes) for e in span.events)
        and all(_clean_attributes(link.attributes) for link in span.links)
    )


def _fix_text(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text)


def _fix_value(value: Any) -> Any:
    if isinstance(value, str):
        return _fix_text(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_fix_value(item) for item in value)
    return value


def _fix_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {_fix_text(k): _fix_value(v) for k, v in (attributes or {}).items()}


def _cleaned_span(span: ReadableSpan) -> ReadableSpan:
    status = span.status
    return ReadableSpan(
        name=_fix_text(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_fix_attributes(span.attributes),
        events=[
            Event(_fix_text(e.name), _fix_attributes(e.attributes), e.timestamp)
            for e in span.events
        ],
        links=[Link(link.context, _fix_attributes(link.attributes)) for link in span.links],
        kind=span.kind,
        status=Status(
            status.status_code,
            _fix_text(status.description) if status.description else status.description,
        ),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
