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
from ..._genai.ending import RecordHooks
from ..._genai.lifecycle import LLMInvocation
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


class _BedrockHooks(RecordHooks):
    """One stream's hooks: the chunks are counted in its ``Answer``."""

    __slots__ = ("answer",)
    error_details = staticmethod(error_details)

    def __init__(self, inv: LLMInvocation, answer: Answer) -> None:
        self.inv = inv
        self.answer = answer

    def on_chunk(self, chunk: Any) -> bool:
        if not self.answer.chunks:
            self.inv.mark_first_chunk()
        self.read(chunk)
        return True

    def read(self, chunk: Any) -> None:
        """Accumulate one chunk."""

    def chunk_count(self) -> int:
        return self.answer.chunks


class ConverseStreamHooks(_BedrockHooks):
    __slots__ = ()

    def read(self, chunk: Any) -> None:
        self.answer.chunks += 1
        self.answer.on_converse_event(chunk)

    def finish(self) -> None:
        self.answer.finish(self.inv)


class InvokeStreamHooks(_BedrockHooks):
    __slots__ = ("chunks",)

    def __init__(self, inv: LLMInvocation, chunks: InvokeChunks) -> None:
        super().__init__(inv, chunks.answer)
        self.chunks = chunks

    def read(self, chunk: Any) -> None:
        payload = chunk.get("chunk") if isinstance(chunk, dict) else None
        data = payload.get("bytes") if isinstance(payload, dict) else None
        if isinstance(data, (bytes, bytearray, str)):
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = None
            self.chunks.on_chunk(parsed)

    def finish(self) -> None:
        self.chunks.finish(self.inv)
