"""Stream hooks: ConverseStream events and InvokeModelWithResponseStream chunks.

    proxy = StreamProxy(response["stream"], ConverseStreamHooks(inv, Answer(messages)))
    proxy = StreamProxy(response["body"], InvokeStreamHooks(inv, InvokeChunks(kind, prompt)))

botocore's ``EventStream`` yields parsed events; the proxy base (``llmtrace._streams``)
ends the span exactly once whether the stream is exhausted, raises (an in-stream
``throttlingException``, a cut connection), is closed or is dropped unfinished.
"""

from __future__ import annotations

import json
from typing import Any

from ... import semconv
from ..._genai.ending import end_stream
from ..._genai.lifecycle import LLMInvocation
from ..._streams import StreamHooks
from ._converse import Answer
from ._invoke import InvokeChunks


def error_details(inv: LLMInvocation, exc: BaseException) -> None:
    """``error.type`` from an AWS error code (``ThrottlingException``), and the HTTP status."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return
    error = response.get("Error")
    code = error.get("Code") if isinstance(error, dict) else None
    if isinstance(code, str) and code:
        # In-stream errors are named like their events ("throttlingException").
        inv.error_type = code[:1].upper() + code[1:]
    metadata = response.get("ResponseMetadata")
    if isinstance(metadata, dict):
        status = metadata.get("HTTPStatusCode")
        if isinstance(status, int) and not isinstance(status, bool):
            inv.attributes[semconv.HTTP_RESPONSE_STATUS_CODE] = status
        request_id = metadata.get("RequestId")
        if isinstance(request_id, str) and request_id:
            inv.attributes[semconv.AWS_REQUEST_ID] = request_id


class ConverseStreamHooks(StreamHooks):
    __slots__ = ("answer", "inv")

    def __init__(self, inv: LLMInvocation, answer: Answer) -> None:
        self.inv = inv
        self.answer = answer

    def on_chunk(self, chunk: Any) -> bool:
        answer = self.answer
        if not answer.chunks:
            self.inv.mark_first_chunk()
        answer.chunks += 1
        answer.on_converse_event(chunk)
        return True

    def on_end(self, error: BaseException | None, abandoned: bool) -> None:
        try:
            self.answer.finish(self.inv)
        finally:
            end_stream(self.inv, self.answer.chunks, error, abandoned, error_details)


class InvokeStreamHooks(StreamHooks):
    __slots__ = ("chunks", "inv")

    def __init__(self, inv: LLMInvocation, chunks: InvokeChunks) -> None:
        self.inv = inv
        self.chunks = chunks

    def on_chunk(self, chunk: Any) -> bool:
        chunks = self.chunks
        if not chunks.answer.chunks:
            self.inv.mark_first_chunk()
        payload = chunk.get("chunk") if isinstance(chunk, dict) else None
        data = payload.get("bytes") if isinstance(payload, dict) else None
        if isinstance(data, (bytes, bytearray, str)):
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = None
            chunks.on_chunk(parsed)
        return True

    def on_end(self, error: BaseException | None, abandoned: bool) -> None:
        try:
            self.chunks.finish(self.inv)
        finally:
            end_stream(self.inv, self.chunks.answer.chunks, error, abandoned, error_details)
