"""Shared by bench_openai.py and bench_peers.py: the mock API, the floors, the variant router.

    env = setup()                          # llmtrace + floors, one Router at the request methods
    env.router.use("llmtrace")             # later calls go through llmtrace's wrapper
    sync, async_ = clients()               # real openai clients over an in-process mock transport
    call = capture(SYNC_POINT, lambda: sync.chat.completions.create(...))
    loop = wrapper_loop(wrapper, call)     # the wrapper alone, around a stub returning call.result

Every variant ends in a SimpleSpanProcessor into a counting no-op exporter (``_otel.py``).
See ``bench_openai.py`` for what is measured and why it is measured this way.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import statistics
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import openai
import wrapt
from _harness import Loop, Stat
from _otel import CountingExporter, install_llmtrace, plain_provider, uninstall_llmtrace
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from llmtrace._genai import metrics
from llmtrace._genai.shells import async_shell, sync_shell
from llmtrace._runtime import runtime
from llmtrace.instrumentation.openai._instrumentor import OpenAIPatch

if int(openai.__version__.split(".")[0]) >= 3:
    import httpx2 as hx
else:
    import httpx as hx  # type: ignore[no-redef]

Wrapper = Callable[[Any, Any, Any, Any], Any]

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


# The usage chunk as the API sends it with stream_options.include_usage (details included).
STREAM_USAGE = {
    "prompt_tokens": 25,
    "completion_tokens": 49,
    "total_tokens": 74,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
}
STREAM = (
    "".join(_chunk({"content": f"w{i} "}) for i in range(CHUNKS - 1))
    + _chunk({}, "stop")
    + _chunk({}, usage=STREAM_USAGE)
    + "data: [DONE]\n\n"
).encode()


def _answer(request: Any) -> Any:
    if b'"stream":true' in request.content.replace(b" ", b""):
        return hx.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})
    return hx.Response(200, content=COMPLETION, headers={"content-type": "application/json"})


def clients() -> tuple[Any, Any]:
    """A sync and an async client over the mock transport."""
    transport = hx.MockTransport(_answer)
    sync = openai.OpenAI(api_key="sk-bench", http_client=hx.Client(transport=transport))
    async_ = openai.AsyncOpenAI(api_key="sk-bench", http_client=hx.AsyncClient(transport=transport))
    return sync, async_


def chat_loop(client: Any) -> Callable[[int], None]:
    def chat(n: int) -> None:
        for _ in repeat(None, n):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    return chat


def stream_loop(client: Any) -> Callable[[int], None]:
    def stream(n: int) -> None:
        for _ in repeat(None, n):
            for _chunk in client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True
            ):
                pass

    return stream


# -- hand-written floors ---------------------------------------------------------------------


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


def minimal_patch(tracer: Any) -> tuple[Wrapper, Wrapper]:
    """The floor: span + request model at start, response model and token usage at end."""

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


_PRICES = (0.15e-6, 0.6e-6)  # gpt-4o-mini, USD per input / output token


def minimal_metrics_patch(tracer: Any, meter: Any) -> Wrapper:
    """The minimal patch plus llmtrace's measurements of a chat call, same attributes.

    The GenAI conventions' duration, per-call input and output token histograms and
    input and output token counters (by modality), and the cost counter (chat only).
    """
    duration = meter.create_histogram("gen_ai.client.inference.duration", unit="s")
    inputs = meter.create_histogram(
        "gen_ai.client.inference.operation.input_tokens", unit="{token}"
    )
    outputs = meter.create_histogram(
        "gen_ai.client.inference.operation.output_tokens", unit="{token}"
    )
    input_total = meter.create_counter("gen_ai.client.inference.usage.input_tokens", unit="{token}")
    output_total = meter.create_counter(
        "gen_ai.client.inference.usage.output_tokens", unit="{token}"
    )
    cost = meter.create_counter("llmtrace.client.cost", unit="USD")
    span_only = minimal_patch(tracer)[0]

    def sync_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        started = time.perf_counter()
        result = span_only(wrapped, instance, args, kwargs)
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": args[1].json_data.get("model"),
            "gen_ai.response.model": result.model,
            "server.address": "api.openai.com",
            "server.port": 443,
        }
        duration.record(time.perf_counter() - started, attributes)
        usage = result.usage
        inputs.record(usage.prompt_tokens, attributes)
        outputs.record(usage.completion_tokens, attributes)
        modal = {**attributes, "gen_ai.token.modality": "unknown"}
        input_total.add(usage.prompt_tokens, modal)
        output_total.add(usage.completion_tokens, modal)
        cost.add(
            usage.prompt_tokens * _PRICES[0] + usage.completion_tokens * _PRICES[1], attributes
        )
        return result

    return sync_wrapper


def same_attributes_patch(tracer: Any) -> Wrapper:
    """Every attribute llmtrace writes for a chat call, hand-written (chat only)."""

    def sync_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        model = args[1].json_data.get("model")
        url = instance.base_url  # the server, read as llmtrace reads it (public property)
        span = tracer.start_span(
            f"chat {model}",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": model,
                "server.address": url.host,
                "server.port": url.port or 443,
            },
        )
        span.set_attribute("openai.api.type", "chat_completions")
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            result = wrapped(*args, **kwargs)
        finally:
            otel_context.detach(token)
        usage = result.usage
        cost_in, cost_out = usage.prompt_tokens * _PRICES[0], usage.completion_tokens * _PRICES[1]
        span.set_attributes(
            {
                "gen_ai.response.model": result.model,
                "gen_ai.response.id": result.id,
                "gen_ai.response.finish_reasons": [c.finish_reason for c in result.choices],
                "openai.response.system_fingerprint": result.system_fingerprint,
                "openai.response.service_tier": result.service_tier,
                "gen_ai.usage.input_tokens": usage.prompt_tokens,
                "gen_ai.usage.output_tokens": usage.completion_tokens,
                "gen_ai.usage.cache_read.input_tokens": usage.prompt_tokens_details.cached_tokens,
                "gen_ai.usage.reasoning.output_tokens": (
                    usage.completion_tokens_details.reasoning_tokens
                ),
                "gen_ai.usage.audio.input_tokens": usage.prompt_tokens_details.audio_tokens,
                "gen_ai.usage.audio.output_tokens": usage.completion_tokens_details.audio_tokens,
                "gen_ai.usage.cost.amount": round(cost_in + cost_out, 10),
                "gen_ai.usage.cost.currency": "USD",
                "gen_ai.usage.cost.source": "local",
                "llmtrace.cost.input": round(cost_in, 10),
                "llmtrace.cost.output": round(cost_out, 10),
                "llmtrace.cost.price_source": "fixed",
            }
        )
        span.end()
        return result

    return sync_wrapper


class _StreamState:
    """What the floor's stream reads from chunks (a plain object: adding one to a wrapt
    proxy's own ``_self_`` attribute costs ~0.46 µs here, 0.06 µs on a plain object)."""

    __slots__ = ("chunks", "fields", "first", "reasons", "started", "usage")

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first: float | None = None
        self.fields: dict[str, Any] = {}
        self.reasons: dict[int, str] = {}
        self.usage: Any = None
        self.chunks = 0

    def see(self, chunk: Any) -> None:
        self.chunks += 1
        if self.first is None:
            self.first = time.perf_counter() - self.started
            self.fields = {
                "gen_ai.response.id": chunk.id,
                "gen_ai.response.model": chunk.model,
                "openai.response.system_fingerprint": chunk.system_fingerprint,
            }
            if chunk.service_tier is not None:
                self.fields["openai.response.service_tier"] = chunk.service_tier
        for choice in chunk.choices:
            if choice.finish_reason is not None:
                self.reasons[choice.index] = choice.finish_reason
        if chunk.usage is not None:
            self.usage = chunk.usage


class _SameDataStream(wrapt.ObjectProxy):  # type: ignore[misc]
    """The stream half of ``same_data_patch``: what llmtrace reads from chunks, by hand."""

    def __init__(self, wrapped: Any, finish: Callable[[dict[str, Any], Any, float | None], None]):
        super().__init__(wrapped)
        self._self_finish = finish
        self._self_state = _StreamState()

    def _self_end(self) -> None:
        state = self._self_state
        fields = state.fields
        fields["gen_ai.response.finish_reasons"] = list(state.reasons.values())
        fields["gen_ai.response.time_to_first_chunk"] = state.first
        fields["llmtrace.stream.chunks"] = state.chunks
        self._self_finish(fields, state.usage, state.first)

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        try:
            chunk = self.__wrapped__.__next__()
        except StopIteration:
            self._self_end()
            raise
        self._self_state.see(chunk)
        return chunk

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_end()
            raise
        self._self_state.see(chunk)
        return chunk


Begun = tuple[Any, Any, float, dict[str, Any]]  # span, context token, start time, request


def same_data_patch(tracer: Any, meter: Any) -> tuple[Wrapper, Wrapper]:
    """The floor for llmtrace's data: every attribute and every metric llmtrace records
    for a chat call or a stream, written by hand (cost from a fixed price)."""
    duration = meter.create_histogram("gen_ai.client.inference.duration", unit="s")
    inputs = meter.create_histogram(
        "gen_ai.client.inference.operation.input_tokens", unit="{token}"
    )
    outputs = meter.create_histogram(
        "gen_ai.client.inference.operation.output_tokens", unit="{token}"
    )
    input_total = meter.create_counter("gen_ai.client.inference.usage.input_tokens", unit="{token}")
    output_total = meter.create_counter(
        "gen_ai.client.inference.usage.output_tokens", unit="{token}"
    )
    first_chunk = meter.create_histogram("gen_ai.client.inference.time_to_first_chunk", unit="s")
    cost_counter = meter.create_counter("llmtrace.client.cost", unit="USD")

    def begin(instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Begun:
        model = args[1].json_data.get("model")
        url = instance.base_url  # the server, read as llmtrace reads it (public property)
        request = {  # the span's start attributes, and the metrics' with the response model
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": model,
            "server.address": url.host,
            "server.port": url.port or 443,
        }
        attributes = {**request, "gen_ai.request.stream": True} if kwargs.get("stream") else request
        span = tracer.start_span(f"chat {model}", kind=SpanKind.CLIENT, attributes=attributes)
        span.set_attribute("openai.api.type", "chat_completions")
        token = otel_context.attach(trace.set_span_in_context(span))
        return span, token, time.perf_counter(), request

    def end(
        span: Any,
        started: float,
        request: dict[str, Any],
        fields: dict[str, Any],
        usage: Any,
        ttfc: Any,
    ) -> None:
        cost_in = usage.prompt_tokens * _PRICES[0]
        cost_out = usage.completion_tokens * _PRICES[1]
        span.set_attributes(
            {
                **fields,
                "gen_ai.usage.input_tokens": usage.prompt_tokens,
                "gen_ai.usage.output_tokens": usage.completion_tokens,
                "gen_ai.usage.cache_read.input_tokens": usage.prompt_tokens_details.cached_tokens,
                "gen_ai.usage.reasoning.output_tokens": (
                    usage.completion_tokens_details.reasoning_tokens
                ),
                "gen_ai.usage.audio.input_tokens": usage.prompt_tokens_details.audio_tokens,
                "gen_ai.usage.audio.output_tokens": usage.completion_tokens_details.audio_tokens,
                "gen_ai.usage.cost.amount": round(cost_in + cost_out, 10),
                "gen_ai.usage.cost.currency": "USD",
                "gen_ai.usage.cost.source": "local",
                "llmtrace.cost.input": round(cost_in, 10),
                "llmtrace.cost.output": round(cost_out, 10),
                "llmtrace.cost.price_source": "fixed",
            }
        )
        metric = {**request, "gen_ai.response.model": fields["gen_ai.response.model"]}
        duration.record(time.perf_counter() - started, metric)
        inputs.record(usage.prompt_tokens, metric)
        outputs.record(usage.completion_tokens, metric)
        modal = {**metric, "gen_ai.token.modality": "unknown"}
        input_total.add(usage.prompt_tokens, modal)
        output_total.add(usage.completion_tokens, modal)
        if ttfc is not None:
            first_chunk.record(ttfc, metric)
        cost_counter.add(cost_in + cost_out, metric)
        span.end()

    def finish(span: Any, started: float, request: dict[str, Any], result: Any) -> Any:
        if isinstance(result, (openai.Stream, openai.AsyncStream)):
            return _SameDataStream(
                result,
                lambda fields, usage, ttfc: end(span, started, request, fields, usage, ttfc),
            )
        fields = {
            "gen_ai.response.model": result.model,
            "gen_ai.response.id": result.id,
            "gen_ai.response.finish_reasons": [c.finish_reason for c in result.choices],
            "openai.response.system_fingerprint": result.system_fingerprint,
            "openai.response.service_tier": result.service_tier,
        }
        end(span, started, request, fields, result.usage, None)
        return result

    def sync_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        span, token, started, request = begin(instance, args, kwargs)
        try:
            result = wrapped(*args, **kwargs)
        finally:
            otel_context.detach(token)
        return finish(span, started, request, result)

    async def async_wrapper(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        span, token, started, request = begin(instance, args, kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        finally:
            otel_context.detach(token)
        return finish(span, started, request, result)

    return sync_wrapper, async_wrapper


# -- routing calls to the variant being measured ----------------------------------------------

SYNC_POINT = "openai._base_client:SyncAPIClient.request"
ASYNC_POINT = "openai._base_client:AsyncAPIClient.request"


@dataclass
class Variant:
    """A variant: the wrapper it puts at each patch point, and how to switch it on."""

    name: str
    wrappers: dict[str, Wrapper] = field(default_factory=dict)  # patch point -> wrapper
    on_use: Callable[[], None] | None = None
    exporter: CountingExporter | None = None  # receives one span per call


def _place(point: str) -> tuple[Any, str]:
    """The class and attribute name a ``"module:Class.method"`` patch point names."""
    module, name = point.split(":")
    owner_name, attribute = name.split(".")
    return getattr(importlib.import_module(module), owner_name), attribute


class Patched:
    """Remembers what a class held at a patch point, to restore it exactly (even absence)."""

    def __init__(self, point: str) -> None:
        self.owner, self.attribute = _place(point)
        self.had = self.attribute in vars(self.owner)
        self.before = vars(self.owner).get(self.attribute)

    def current(self) -> Any:
        return vars(self.owner).get(self.attribute)

    def restore(self) -> None:
        if self.had:
            setattr(self.owner, self.attribute, self.before)
        elif self.attribute in vars(self.owner):
            delattr(self.owner, self.attribute)


class Router:
    """One dispatching wrapper per patch point, installed once; ``use()`` picks the variant.

    Patch points are ``"module:Class.method"``. A point the variant in use has no
    wrapper for passes the call straight through.
    """

    def __init__(self, points: list[str]) -> None:
        self.points = points
        self.variants: dict[str, Variant] = {}
        self._active: dict[str, Wrapper | None] = dict.fromkeys(points)
        self._patched = [Patched(point) for point in points]
        for point in points:
            module, name = point.split(":")
            wrapt.wrap_function_wrapper(module, name, self._dispatcher(point))

    def _dispatcher(self, point: str) -> Wrapper:
        active = self._active
        owner, attribute = _place(point)
        original = inspect.unwrap(getattr(owner, attribute))
        if inspect.iscoroutinefunction(original):

            async def adispatch(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
                wrapper = active[point]
                if wrapper is None:
                    return await wrapped(*args, **kwargs)
                return await wrapper(wrapped, instance, args, kwargs)

            return adispatch

        def dispatch(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            wrapper = active[point]
            if wrapper is None:
                return wrapped(*args, **kwargs)
            return wrapper(wrapped, instance, args, kwargs)

        return dispatch

    def add(self, variant: Variant) -> None:
        unknown = set(variant.wrappers) - set(self.points)
        if unknown:
            raise ValueError(f"{variant.name}: no dispatcher at {sorted(unknown)}")
        self.variants[variant.name] = variant

    def use(self, name: str) -> None:
        variant = self.variants[name]
        for point in self.points:
            self._active[point] = variant.wrappers.get(point)
        if variant.on_use is not None:
            variant.on_use()

    def close(self) -> None:
        for patched in reversed(self._patched):
            patched.restore()


def peer_wrappers(
    instrument: Callable[[], object], uninstrument: Callable[[], object], points: list[str]
) -> dict[str, Wrapper]:
    """The wrapt wrappers an instrumentor installs at ``points``, then undone.

    The wrappers are kept, to be called by a ``Router``, exactly as wrapt would call them.
    """
    patched = [Patched(point) for point in points]
    instrument()
    found = {}
    for point, place in zip(points, patched, strict=True):
        now = place.current()
        if now is not place.before and isinstance(now, wrapt.FunctionWrapper):
            found[point] = now._self_wrapper
    uninstrument()
    for place in patched:
        place.restore()
    return found


class Calls:
    """Counts the calls made per variant, to check every exporter got one span per call."""

    def __init__(self) -> None:
        self.made: dict[str, int] = {}

    def loop(self, router: Router, name: str, call: Callable[[int], object]) -> Loop:
        made = self.made
        made.setdefault(name, 0)

        def run(n: int) -> object:
            router.use(name)
            made[name] += n
            return call(n)

        return run

    def check(self, variants: dict[str, Variant], before: dict[int, int]) -> list[str]:
        """Exporters whose span count does not match the calls made since ``before``."""
        expected: dict[int, tuple[CountingExporter, int]] = {}
        for name, count in self.made.items():
            exporter = variants[name].exporter
            if exporter is not None:
                seen = expected.get(id(exporter), (exporter, 0))[1]
                expected[id(exporter)] = (exporter, seen + count)
        problems = []
        for key, (exporter, count) in expected.items():
            got = exporter.count - before.get(key, 0)
            if got != count:
                problems.append(f"exporter got {got} spans for {count} calls")
        return problems


def attribute_differences(router: Router, calls: dict[str, Captured], floor: str) -> list[str]:
    """What the ``floor`` variant's span and llmtrace's disagree on, by attribute key, for
    each captured call: a floor that records less than llmtrace is no floor."""
    problems = []
    for scenario, call in calls.items():
        keys = []
        for name in (floor, "llmtrace+metrics"):
            variant = router.variants[name]
            router.use(name)
            wrapper_loop(variant.wrappers[SYNC_POINT], call)(1)
            assert variant.exporter is not None and variant.exporter.last is not None
            keys.append(set(variant.exporter.last.attributes or {}))
        missing, extra = sorted(keys[1] - keys[0]), sorted(keys[0] - keys[1])
        if missing or extra:
            problems.append(f"{scenario}: {floor} lacks {missing}, has more {extra}")
    return problems


def exporter_counts(variants: dict[str, Variant]) -> dict[int, int]:
    return {id(v.exporter): v.exporter.count for v in variants.values() if v.exporter}


# -- wrapper only: captured calls, replayed around a stub --------------------------------------


@dataclass
class Captured:
    """One real call at a patch point: what the wrapper receives and what it returns."""

    instance: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    result: Any
    chunks: list[Any] | None = None  # for a stream: every chunk it yielded


class Replay(openai.Stream):  # type: ignore[type-arg,misc]
    """An SDK stream that yields captured chunks: no HTTP, no SSE parsing."""

    def __init__(self, chunks: list[Any], response: Any) -> None:
        self.response = response
        self._iterator: Iterator[Any] = iter(chunks)


class AsyncReplay(openai.AsyncStream):  # type: ignore[type-arg,misc]
    """The async twin of ``Replay``."""

    def __init__(self, chunks: list[Any], response: Any) -> None:
        self.response = response
        self._iterator: AsyncIterator[Any] = self._replay(chunks)

    @staticmethod
    async def _replay(chunks: list[Any]) -> AsyncIterator[Any]:
        for chunk in chunks:
            yield chunk


def capture(point: str, make_call: Callable[[], Any]) -> Captured:
    """Run ``make_call()`` uninstrumented and record the call that reached ``point``."""
    seen: list[Captured] = []
    module, name = point.split(":")

    def spy(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        result = wrapped(*args, **kwargs)
        if isinstance(result, openai.Stream):
            chunks = list(result)
            seen.append(Captured(instance, args, kwargs, result, chunks))
            return Replay(chunks, result.response)
        seen.append(Captured(instance, args, kwargs, result))
        return result

    place = Patched(point)
    wrapt.wrap_function_wrapper(module, name, spy)
    try:
        outcome = make_call()
        if isinstance(outcome, openai.Stream):
            for _chunk in outcome:
                pass
    finally:
        place.restore()
    if len(seen) != 1:
        raise RuntimeError(f"expected one call at {point}, saw {len(seen)}")
    return seen[0]


def wrapper_loop(wrapper: Wrapper | None, call: Captured) -> Loop:
    """``n`` calls of ``wrapper`` around a stub returning ``call``'s result (or no wrapper)."""
    instance, args, kwargs = call.instance, call.args, call.kwargs
    if call.chunks is not None:
        chunks, response = call.chunks, call.result.response

        def stream_stub(*_args: Any, **_kwargs: Any) -> Any:
            return Replay(chunks, response)

        def stream(n: int) -> None:
            for _ in repeat(None, n):
                result = (
                    stream_stub()
                    if wrapper is None
                    else wrapper(stream_stub, instance, args, kwargs)
                )
                for _chunk in result:
                    pass

        return stream

    result = call.result

    def stub(*_args: Any, **_kwargs: Any) -> Any:
        return result

    if wrapper is None:

        def bare(n: int) -> None:
            for _ in repeat(None, n):
                stub(*args, **kwargs)

        return bare

    def wrapped_loop(n: int) -> None:
        for _ in repeat(None, n):
            wrapper(stub, instance, args, kwargs)

    return wrapped_loop


def async_stream_loop(
    wrapper: Wrapper | None, call: Captured, loop: asyncio.AbstractEventLoop
) -> Loop:
    """``wrapper_loop`` for an async stream: ``async for`` over an ``AsyncReplay``."""
    instance, args, kwargs = call.instance, call.args, call.kwargs
    assert call.chunks is not None
    chunks, response = call.chunks, call.result.response

    async def stream_stub(*_args: Any, **_kwargs: Any) -> Any:
        return AsyncReplay(chunks, response)

    async def streams(n: int) -> None:
        for _ in repeat(None, n):
            if wrapper is None:
                result = await stream_stub()
            else:
                result = await wrapper(stream_stub, instance, args, kwargs)
            async for _chunk in result:
                pass

    def run(n: int) -> None:
        loop.run_until_complete(streams(n))

    return run


def added(stats: dict[str, Stat], name: str, base: str) -> float:
    """Median over rounds of ``name``'s time minus ``base``'s in the same round, in µs."""
    pairs = zip(stats[name].samples, stats[base].samples, strict=True)
    return statistics.median(a - b for a, b in pairs) / 1000


@dataclass
class Setup:
    router: Router
    metrics_on: Callable[[], None]
    metrics_off: Callable[[], None]
    exporters: dict[str, CountingExporter]
    floor_tracer: Any
    floor_meter: Any
    close: Callable[[], None]


def setup(points: list[str] | None = None) -> Setup:
    """Providers, llmtrace (init, metrics into an in-memory reader), the router and variants.

    ``points``: every patch point the router dispatches (default: the request methods).
    """
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    floor = plain_provider()
    ours = install_llmtrace()
    metrics.configure(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    instruments = metrics._instruments  # switched per variant, so both run in one process
    floor_meter = MeterProvider(metric_readers=[InMemoryMetricReader()]).get_meter("bench")
    tracer = floor.provider.get_tracer("bench.minimal")

    def metrics_on() -> None:
        metrics._instruments = instruments

    def metrics_off() -> None:
        metrics._instruments = None

    def capture_off() -> None:
        metrics_off()
        runtime.capture_content = False

    router = Router(points or [SYNC_POINT, ASYNC_POINT])
    patch = OpenAIPatch()  # exactly what instrument_openai() installs
    minimal = minimal_patch(tracer)
    llmtrace_wrappers = {SYNC_POINT: sync_shell(patch), ASYNC_POINT: async_shell(patch)}
    router.add(Variant("bare", on_use=capture_off))
    router.add(
        Variant("minimal", {SYNC_POINT: minimal[0], ASYNC_POINT: minimal[1]}, None, floor.exporter)
    )
    same = same_data_patch(tracer, floor_meter)
    router.add(
        Variant("same data", {SYNC_POINT: same[0], ASYNC_POINT: same[1]}, None, floor.exporter)
    )
    router.add(Variant("llmtrace", llmtrace_wrappers, capture_off, ours.exporter))
    router.add(Variant("llmtrace+metrics", llmtrace_wrappers, metrics_on, ours.exporter))

    def close() -> None:
        router.close()
        metrics.reset()
        uninstall_llmtrace()

    return Setup(
        router,
        metrics_on,
        metrics_off,
        {"floor": floor.exporter, "llmtrace": ours.exporter},
        tracer,
        floor_meter,
        close,
    )
