"""The patch: wrappers around the public methods of the Messages resource.

``messages.create`` (plain, ``stream=True``, ``with_raw_response``,
``with_streaming_response``) and ``messages.parse`` are wrapped directly;
``messages.stream()`` returns a manager whose ``with`` opens the span and whose
stream is read through ``MessageStreamProxy``. ``count_tokens`` and every other
endpoint pass through untouched (no LLM span). The same resource classes serve
``Anthropic``, ``AnthropicBedrock``, ``AnthropicVertex`` and the other platform
clients: the resource's constructor is wrapped too, to learn which client (and so
which provider and host) each resource calls, without reading private attributes.

Per call: suppression check -> request extraction (pure) -> ``LLMInvocation.start()``
-> the real call -> response extraction or a stream/raw-response proxy ->
``stop()`` / ``fail()``. The sync and async shells differ only by ``await``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import wrapt
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Tracer

from ... import semconv
from ..._cm import ExcType, Traceback
from ..._errors import internal_errors
from ..._genai import providers
from ..._genai.ending import fail_call
from ..._genai.instrumentor import Instrumentor, Target
from ..._genai.lifecycle import LLMInvocation
from ..._genai.shells import Args, Kwargs, async_shell, sync_shell
from ..._raw import AsyncRawProxy, RawProxy, RawState, read_now
from ..._runtime import runtime
from ..._streams import AsyncStreamProxy, StreamProxy
from . import _sdk_tracing
from ._request import DEFAULT_SERVER, Server, add_request_content, invocation_for
from ._response import apply_message
from ._stream import AnthropicStreamHooks, AsyncMessageStreamProxy, MessageStreamProxy

if TYPE_CHECKING:
    ObjectProxy = wrapt.ObjectProxy[Any]
else:
    ObjectProxy = wrapt.ObjectProxy

# The Messages resources (and their beta twins, which langchain-anthropic uses for betas).
_MODULES = ("anthropic.resources.messages", "anthropic.resources.beta.messages")
_SYNC, _ASYNC = "Messages", "AsyncMessages"
_METHODS = ("__init__", "create", "parse", "stream")
# One call in the shells: its invocation and the keyword arguments its stream hooks read.
_Call = tuple[LLMInvocation, Mapping[str, Any]]


class _Types:
    """The anthropic classes the wrappers tell apart, imported once at instrument time."""

    def __init__(self) -> None:
        import anthropic

        self.stream: type = anthropic.Stream
        self.async_stream: type = anthropic.AsyncStream
        self.async_raw: type = anthropic.AsyncAPIResponse
        self.raw: tuple[type, ...] = (anthropic.APIResponse, anthropic.AsyncAPIResponse)
        self.platforms: tuple[tuple[tuple[type, ...], str], ...] = (
            ((anthropic.AnthropicBedrock, anthropic.AsyncAnthropicBedrock), "aws.bedrock"),
            ((anthropic.AnthropicVertex, anthropic.AsyncAnthropicVertex), "gcp.vertex_ai"),
        )

    def server_of(self, client: Any) -> Server:
        """The provider and host a client calls: its platform, else its base URL's host."""
        url = getattr(client, "base_url", None)
        host, port = getattr(url, "host", None), getattr(url, "port", None)
        host = host if isinstance(host, str) and host else None
        port = port if isinstance(port, int) else None
        for classes, name in self.platforms:
            if isinstance(client, classes):
                return Server(name, host, port)
        named = providers.by_host(host, port) if host else providers.UNKNOWN
        # An Anthropic client on a host nobody named speaks Anthropic's API: a proxy or gateway.
        return Server("anthropic" if named == providers.UNKNOWN else named, host, port)


class AnthropicPatch:
    """The wrappers and the configuration they share (resolved once, at instrument time)."""

    def __init__(self, tracer: Tracer | None = None, instruments: Any = None) -> None:
        self.types = _Types()
        # resource -> its client (weakly both ways: the client holds its resources) and the
        # server worked out from it, forgotten when the user's host mapping changes.
        self._clients: weakref.WeakKeyDictionary[Any, weakref.ref[Any]] = (
            weakref.WeakKeyDictionary()
        )
        self.servers: weakref.WeakKeyDictionary[Any, Server] = weakref.WeakKeyDictionary()
        self.tracer = tracer
        self.instruments = instruments

    # -- phases shared by both shells (sans I/O) ------------------------------------------
    def resource_created(self, instance: Any, client: Any) -> None:
        with internal_errors:
            self._clients[instance] = weakref.ref(client)

    def server_for(self, instance: Any) -> Server:
        """Where ``instance`` (a Messages resource) sends calls; the default for unknown ones."""
        server = self.servers.get(instance)
        if server is None:
            ref = self._clients.get(instance)
            client = ref() if ref is not None else None
            server = DEFAULT_SERVER if client is None else self.types.server_of(client)
            self.servers[instance] = server
        return server

    def prepare(
        self, instance: Any, kwargs: Mapping[str, Any], stream: bool
    ) -> LLMInvocation | None:
        """The started invocation for a call (None: pass straight through)."""
        if self.tracer is None and runtime.tracer() is None:
            return None
        inv = None
        with internal_errors:
            server = self.server_for(instance)
            inv = invocation_for(kwargs, server, stream)
        if inv is None:  # request extraction failed: still trace the call with what is known
            inv = LLMInvocation(operation=semconv.OP_CHAT, provider=DEFAULT_SERVER.provider)
        inv.instruments = self.instruments
        # May raise BudgetExceeded, on purpose. Suppression: checked by the callers (the
        # shell, the stream manager).
        if not inv.start(check_suppression=False, tracer=self.tracer):
            return None
        if inv.capture_content:
            with internal_errors:
                add_request_content(inv, kwargs)
        inv.attach()
        return inv

    @staticmethod
    def fail(inv: LLMInvocation, exc: BaseException) -> None:
        fail_call(inv, exc)

    # -- what the shells (llmtrace._genai.shells) call ---------------------------------------
    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[_Call, tuple[Any, ...], dict[str, Any]] | None:
        """The started call and the arguments to call with; None: pass straight through."""
        inv = self.prepare(instance, kwargs, kwargs.get("stream") is True)
        return None if inv is None else ((inv, kwargs), args, kwargs)

    def failed(self, call: _Call, exc: BaseException) -> None:
        self.fail(call[0], exc)

    def finished(self, call: _Call, result: Any) -> Any:
        """Finish the span from ``result``, or hand it to a proxy; returns what the caller gets."""
        inv, kwargs = call
        inv.detach()
        proxy = None
        with internal_errors:
            proxy = self._handle(inv, kwargs, result)
        if proxy is not None:
            return proxy
        inv.stop()
        return result

    def _handle(self, inv: LLMInvocation, kwargs: Mapping[str, Any], result: Any) -> Any:
        stream = self.wrap_stream(inv, kwargs, result)
        if stream is not None:
            return stream
        if not isinstance(result, self.types.raw):
            apply_message(inv, result)
            return None
        http_response: Any = getattr(result, "http_response", None)
        if not inv.stream and http_response.is_closed:  # with_raw_response: body read
            read_now(result, inv, apply_message)
            return None
        state = RawState(inv, apply_message, lambda s: self.wrap_stream(inv, kwargs, s))
        if isinstance(result, self.types.async_raw):
            return AsyncRawProxy(result, state)
        return RawProxy(result, state)

    def wrap_stream(self, inv: LLMInvocation, kwargs: Mapping[str, Any], stream: Any) -> Any:
        """A stream proxy for an SDK stream object; None for anything else."""
        types = self.types
        if isinstance(stream, types.stream):
            return StreamProxy(stream, _hooks(inv, kwargs))
        if isinstance(stream, types.async_stream):
            return AsyncStreamProxy(stream, _hooks(inv, kwargs))
        return None

    # -- the stream() helper and the resources' __init__ --------------------------------------
    def stream(self, proxy: type[Any]) -> Callable[..., Any]:
        """``messages.stream()``: the request is sent when the caller enters the manager,
        so the manager is returned behind ``proxy`` (the sync or the async one)."""

        def stream(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
            manager = wrapped(*args, **kwargs)
            if not is_instrumentation_enabled():
                return manager
            return proxy(manager, _ManagerState(self, instance, kwargs))

        return stream

    def init(self) -> Callable[..., Any]:
        def init(wrapped: Callable[..., Any], instance: Any, args: Args, kwargs: Kwargs) -> Any:
            wrapped(*args, **kwargs)
            client = args[0] if args else kwargs.get("client")
            self.resource_created(instance, client)

        return init


def _hooks(inv: LLMInvocation, kwargs: Mapping[str, Any]) -> AnthropicStreamHooks:
    return AnthropicStreamHooks(inv, kwargs.get("messages"))


class _ManagerState:
    """What a stream manager proxy needs to open the span when it is entered (sans I/O).

    ``with state:`` around the manager's own enter starts the invocation (``inv``) and
    fails it if entering raises; ``entered()`` hands back the proxied stream and
    ``exited()`` ends it after the manager's own exit.
    """

    __slots__ = ("instance", "inv", "kwargs", "patch", "proxy")

    def __init__(self, patch: AnthropicPatch, instance: Any, kwargs: Mapping[str, Any]) -> None:
        self.patch = patch
        self.instance = instance
        self.kwargs = kwargs
        self.inv: LLMInvocation | None = None
        self.proxy: Any = None

    def __enter__(self) -> _ManagerState:
        if is_instrumentation_enabled():
            self.inv = self.patch.prepare(self.instance, self.kwargs, True)
        return self

    def __exit__(self, exc_type: ExcType, exc: BaseException | None, tb: Traceback) -> None:
        if exc is not None and self.inv is not None:
            self.patch.fail(self.inv, exc)

    def entered(self, stream: Any, cls: type) -> Any:
        """The stream behind ``cls`` (the sync or async proxy), which ends the span."""
        inv = self.inv
        if inv is None:
            return stream
        inv.detach()
        proxy = None
        with internal_errors:
            proxy = cls(stream, _hooks(inv, self.kwargs))
        if proxy is None:
            inv.stop()
            return stream
        self.proxy = proxy
        return proxy

    def exited(self, exc: BaseException | None) -> None:
        """The manager's exit closed the stream: end the span, with the ``with`` block's error."""
        if self.proxy is not None:
            self.proxy._self_end(exc)


class _ManagerProxy(ObjectProxy):
    """A stream manager with the state its enter and exit share."""

    def __init__(self, wrapped: Any, state: _ManagerState) -> None:
        super().__init__(wrapped)
        self._self_state = state


class _StreamManagerProxy(_ManagerProxy):
    """``MessageStreamManager``: ``with`` opens the span and yields the proxied stream."""

    def __enter__(self) -> Any:
        with self._self_state as state:
            stream = self.__wrapped__.__enter__()
        return state.entered(stream, MessageStreamProxy)

    def __exit__(self, exc_type: ExcType, exc: BaseException | None, tb: Traceback) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_state.exited(exc)


class _AsyncStreamManagerProxy(_ManagerProxy):
    """``AsyncMessageStreamManager``: ``async with`` opens the span."""

    async def __aenter__(self) -> Any:
        with self._self_state as state:
            stream = await self.__wrapped__.__aenter__()
        return state.entered(stream, AsyncMessageStreamProxy)

    async def __aexit__(self, exc_type: ExcType, exc: BaseException | None, tb: Traceback) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_state.exited(exc)


def _forget_servers() -> None:
    patch = AnthropicInstrumentor._patch
    if patch is not None:
        patch.servers.clear()


providers.on_change(_forget_servers)


class AnthropicInstrumentor(Instrumentor):
    """OpenTelemetry instrumentor (entry point ``llmtrace_anthropic``) for the anthropic SDK."""

    dependencies = ("anthropic >= 0.40",)
    _patch: AnthropicPatch | None = None

    def targets(self, tracer: Tracer | None, instruments: Any) -> Iterable[Target]:
        patch = AnthropicInstrumentor._patch = AnthropicPatch(tracer, instruments)
        wrappers = {
            _SYNC: (
                patch.init(),
                sync_shell(patch),
                sync_shell(patch),
                patch.stream(_StreamManagerProxy),
            ),
            _ASYNC: (
                patch.init(),
                async_shell(patch),
                async_shell(patch),
                patch.stream(_AsyncStreamManagerProxy),
            ),
        }
        found = [
            Target(module, f"{cls.__name__}.{name}", wrapper)
            for module, cls in _targets()
            for name, wrapper in zip(_METHODS, wrappers[cls.__name__], strict=True)
            if hasattr(cls, name)  # parse() and stream() are missing from old SDKs
        ]
        _sdk_tracing.take_over()
        return found

    def restored(self) -> None:
        _sdk_tracing.give_back()
        AnthropicInstrumentor._patch = None


def _targets() -> list[tuple[str, type]]:
    """(module, resource class) for every Messages resource this SDK version has."""
    import importlib

    found = []
    for module in _MODULES:
        try:
            loaded = importlib.import_module(module)
        except ImportError:  # an SDK version without the beta resources
            continue
        found += [(module, getattr(loaded, name)) for name in (_SYNC, _ASYNC)]
    return found
