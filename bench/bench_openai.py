"""What the OpenAI instrumentation costs per call and per stream chunk, against floors.

    python bench/bench_openai.py [--quick] [--json out.json]

The real ``openai`` client (sync and async) calls ``chat.completions.create``
over an in-process mock transport that returns a realistic completion with
usage (or a 50-chunk stream plus the usage chunk, fully consumed). Variants,
measured interleaved in one process (one dispatching wrapper picks the variant):

- ``bare``: uninstrumented client.
- ``minimal``: a hand-written wrapt patch of the same request method: one
  CLIENT span with the model and the token usage (streams: a minimal proxy
  reading the last chunk's usage). The floor: a bare span plus attributes.
- ``llmtrace``: the wrapper ``instrument_openai()`` installs (content capture off).

Every variant exports through ``SimpleSpanProcessor`` into a counting no-op
exporter. Reported: median time per call, ratio to ``minimal`` (total time),
and the added time over ``bare`` (per call, and per chunk for streams) with
its ratio to the minimal patch's added time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import openai
import wrapt
from _harness import Loop, Row, compare, dump, rounds_for, stat_rows, table
from _otel import install_llmtrace, plain_provider, uninstall_llmtrace
from openai import _base_client
from opentelemetry.instrumentation.utils import unwrap
from opentelemetry.trace import SpanKind

from llmtrace.instrumentation.openai._instrumentor import OpenAIPatch

if int(openai.__version__.split(".")[0]) >= 3:
    import httpx2 as hx
else:
    import httpx as hx  # type: ignore[no-redef]

CHUNKS = 50
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Name three colours."},
]
COMPLETION = json.dumps(
    {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Red, green, blue.",
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 25,
            "completion_tokens": 6,
            "total_tokens": 31,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306",
    }
).encode()


def _chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> str:
    return (
        "data: "
        + json.dumps(
            {
                "id": "chatcmpl-s",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "gpt-4o-mini-2024-07-18",
                "system_fingerprint": "fp_1",
                "choices": []
                if usage
                else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
                "usage": usage,
            }
        )
        + "\n\n"
    )


STREAM = (
    "".join(_chunk({"content": f"w{i} "}) for i in range(CHUNKS - 1))
    + _chunk({}, "stop")
    + _chunk({}, usage={"prompt_tokens": 25, "completion_tokens": 49, "total_tokens": 74})
    + "data: [DONE]\n\n"
).encode()


def _answer(request: Any) -> Any:
    if b'"stream":true' in request.content.replace(b" ", b""):
        return hx.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})
    return hx.Response(200, content=COMPLETION, headers={"content-type": "application/json"})


def _clients() -> tuple[Any, Any]:
    transport = hx.MockTransport(_answer)
    sync = openai.OpenAI(api_key="sk-bench", http_client=hx.Client(transport=transport))
    async_ = openai.AsyncOpenAI(api_key="sk-bench", http_client=hx.AsyncClient(transport=transport))
    return sync, async_


# -- the minimal hand-written patch (the floor) --------------------------------------------


class _MinimalStream(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, wrapped: Any, span: Any) -> None:
        super().__init__(wrapped)
        self._self_span = span
        self._self_usage = None

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        try:
            chunk = self.__wrapped__.__next__()
        except StopIteration:
            self._self_close()
            raise
        if chunk.usage is not None:
            self._self_usage = chunk.usage
        return chunk

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_close()
            raise
        if chunk.usage is not None:
            self._self_usage = chunk.usage
        return chunk

    def _self_close(self) -> None:
        usage = self._self_usage
        if usage is not None:
            self._self_span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
            self._self_span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
        self._self_span.end()


def _minimal_patch(tracer: Any) -> tuple[Callable[..., Any], Callable[..., Any]]:
    def begin(args: tuple[Any, ...]) -> Any:
        model = args[1].json_data.get("model")
        return tracer.start_span(
            f"chat {model}", kind=SpanKind.CLIENT, attributes={"gen_ai.request.model": model}
        )

    def finish(span: Any, result: Any) -> Any:
        if isinstance(result, (openai.Stream, openai.AsyncStream)):
            return _MinimalStream(result, span)
        span.set_attribute("gen_ai.response.model", result.model)
        span.set_attribute("gen_ai.usage.input_tokens", result.usage.prompt_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", result.usage.completion_tokens)
        span.end()
        return result

    def sync_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        span = begin(args)
        return finish(span, wrapped(*args, **kwargs))

    async def async_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        span = begin(args)
        return finish(span, await wrapped(*args, **kwargs))

    return sync_wrapper, async_wrapper


class Patches:
    """Routes the client's request method to no patch, the minimal patch or llmtrace's.

    One dispatching wrapper is installed for the whole run and the variant is a flag:
    re-patching the class between samples would deoptimise the interpreter's caches
    for the SDK's code and bias whichever variant runs next.
    """

    def __init__(self, tracer: Any) -> None:
        self.mode = "bare"
        minimal = _minimal_patch(tracer)
        ours = OpenAIPatch()  # exactly what instrument_openai() installs
        self._sync = {"minimal": minimal[0], "llmtrace": ours.sync_wrapper()}
        self._async = {"minimal": minimal[1], "llmtrace": ours.async_wrapper()}
        wrapt.wrap_function_wrapper(_base_client, "SyncAPIClient.request", self._dispatch)
        wrapt.wrap_function_wrapper(_base_client, "AsyncAPIClient.request", self._adispatch)

    def _dispatch(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        wrapper = self._sync.get(self.mode)
        if wrapper is None:
            return wrapped(*args, **kwargs)
        return wrapper(wrapped, instance, args, kwargs)

    async def _adispatch(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        wrapper = self._async.get(self.mode)
        if wrapper is None:
            return await wrapped(*args, **kwargs)
        return await wrapper(wrapped, instance, args, kwargs)

    def use(self, name: str) -> None:
        self.mode = name

    def close(self) -> None:
        unwrap(_base_client.SyncAPIClient, "request")
        unwrap(_base_client.AsyncAPIClient, "request")


def _loops(patches: Patches, call: Callable[[int], None]) -> dict[str, Loop]:
    def variant(name: str) -> Loop:
        def loop(n: int) -> None:
            patches.use(name)
            call(n)

        return loop

    return {name: variant(name) for name in ("bare", "minimal", "llmtrace")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args()
    options = rounds_for(args.quick)

    floor = plain_provider()
    ours = install_llmtrace()
    patches = Patches(floor.provider.get_tracer("bench.minimal"))
    sync, async_ = _clients()
    loop = asyncio.new_event_loop()

    def chat(n: int) -> None:
        for _ in range(n):
            sync.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    def stream(n: int) -> None:
        for _ in range(n):
            for _chunk in sync.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True
            ):
                pass

    async def achat(n: int) -> None:
        for _ in range(n):
            await async_.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    async def astream(n: int) -> None:
        for _ in range(n):
            response = await async_.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True
            )
            async for _chunk in response:
                pass

    scenarios: list[tuple[str, Callable[[int], None], int]] = [
        ("chat sync", chat, 1),
        ("chat async", lambda n: loop.run_until_complete(achat(n)), 1),
        ("stream sync", stream, CHUNKS + 1),
        ("stream async", lambda n: loop.run_until_complete(astream(n)), CHUNKS + 1),
    ]
    rows: list[Row] = []
    summary = []
    added: dict[str, tuple[float, float]] = {}  # scenario -> (llmtrace, minimal) over bare
    try:
        for name, call, chunks in scenarios:
            stats = compare(_loops(patches, call), baseline="minimal", **options)
            limit = 1.3 if chunks == 1 else 1.8
            target = {"llmtrace": (f"<={limit}x", "minimal", limit)}
            rows += stat_rows(name, stats, "minimal", target)
            bare, minimal, mine = (stats[v].us for v in ("bare", "minimal", "llmtrace"))
            added[name] = (mine - bare, minimal - bare)
            line = (
                f"{name}: added over bare {mine - bare:.1f} µs (llmtrace) vs "
                f"{minimal - bare:.1f} µs (minimal patch)"
            )
            if chunks > 1:
                # Per chunk: the stream's added time less the same kind's per-call added time.
                call_ours, call_min = added[name.replace("stream", "chat")]
                line += (
                    f"; per chunk {(mine - bare - call_ours) / chunks:.2f} µs (llmtrace) vs "
                    f"{(minimal - bare - call_min) / chunks:.2f} µs (minimal)"
                )
            summary.append(line)
    finally:
        patches.close()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        uninstall_llmtrace()
    print(table(rows))
    print()
    print("\n".join(summary))
    print(f"spans exported: minimal {floor.exporter.count}, llmtrace {ours.exporter.count}")
    if args.json:
        dump(rows, args.json)


if __name__ == "__main__":
    main()
