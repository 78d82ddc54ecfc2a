"""``@llmtrace.trace``: one span per call of a function, method or generator.

    @llmtrace.trace
    def answer(question: str) -> str: ...

    @llmtrace.trace(name="search", kind="tool", capture_input=True)
    async def search(query: str) -> list[str]: ...

Sync and async functions, generators and async generators, methods,
classmethods and staticmethods are supported. The shell (sync, async,
generator, async generator) is chosen once, when the function is decorated.
Return values and exceptions pass through untouched; a generator's span stays
open until it is exhausted, closed or garbage-collected. wrapt keeps the
signature, ``inspect`` results and descriptor behaviour of the original.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import Any, TypeVar, overload

from opentelemetry.util.types import AttributeValue

from . import semconv
from ._errors import internal_errors, never_raise
from ._runtime import runtime
from ._spans import SpanKindName, TracedSpan, check_kind, span_name, start_with, static_attributes

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

_MAX_CAPTURED_ITEMS = 100
_SELF_NAMES = frozenset({"self", "cls"})


class _Spec:
    """Everything about a decorated function that can be worked out once."""

    __slots__ = (
        "attributes",
        "capture_input",
        "capture_output",
        "kind",
        "param_names",
        "span_name",
        "var_keyword",
        "var_positional",
    )

    def __init__(
        self,
        func: Callable[..., Any],
        name: str | None,
        kind: str,
        capture_input: bool | None,
        capture_output: bool | None,
        attributes: Mapping[str, AttributeValue] | None,
    ) -> None:
        target = inspect.unwrap(getattr(func, "__func__", func))
        base_name = name or getattr(target, "__qualname__", None) or repr(target)
        self.kind = kind
        self.span_name = span_name(base_name, kind)
        self.attributes = static_attributes(base_name, kind, attributes)
        self.capture_input = capture_input
        self.capture_output = capture_output
        self.param_names: tuple[str, ...] = ()
        self.var_positional: str | None = None
        self.var_keyword: str | None = None
        try:
            params = inspect.signature(target).parameters.values()
        except (TypeError, ValueError):
            return
        names = []
        for param in params:
            if param.kind is param.VAR_POSITIONAL:
                self.var_positional = param.name
            elif param.kind is param.VAR_KEYWORD:
                self.var_keyword = param.name
            elif param.kind is not param.KEYWORD_ONLY:
                names.append(param.name)
        self.param_names = tuple(names)

    def bind(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """Name the call's arguments (without self/cls) for the input attribute."""
        names = self.param_names
        if instance is not None and names and names[0] in _SELF_NAMES:
            names = names[1:]
        elif instance is None and names and names[0] in _SELF_NAMES and args:
            names, args = names[1:], args[1:]
        bound = dict(zip(names, args, strict=False))
        extra = args[len(names) :]
        if extra:
            bound[self.var_positional or "args"] = list(extra)
        if kwargs:
            if self.var_keyword:
                known = {k: v for k, v in kwargs.items() if k not in bound}
                bound.update(known)
            else:
                bound.update(kwargs)
        return bound

    def begin(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> TracedSpan | None:
        """Start the call's span, or None when tracing is off; raises only on llmtrace bugs."""
        tracer = runtime.tracer()
        if tracer is None:
            return None
        traced = start_with(
            tracer,
            self.span_name,
            self.kind,
            self.attributes,
            self.capture_input,
            self.capture_output,
        )
        if traced is not None and traced._capture_input and traced.span.is_recording():
            with internal_errors:
                traced._set_content(semconv.LLMTRACE_INPUT, self.bind(instance, args, kwargs))
        return traced

    def enter(self, instance: Any, args: Any, kwargs: Any) -> TracedSpan | None:
        """``begin()`` and make the span current; None when tracing is off. Never raises."""
        traced = None
        with internal_errors:
            traced = self.begin(instance, args, kwargs)
            if traced is not None:
                traced.attach()
        return traced


# The four shells. Each differs from its twin only by ``await`` / the stop exception;
# what they share (starting, capturing, ending) lives in _Spec, _Body and _finish.


def _sync_shell(spec: _Spec) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        traced = spec.enter(instance, args, kwargs)
        if traced is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            _end(traced, exc)
            raise
        _finish(traced, result)
        return result

    return wrapper


def _async_shell(spec: _Spec) -> Callable[..., Any]:
    async def run(wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any) -> Any:
        traced = spec.enter(instance, args, kwargs)
        if traced is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            _end(traced, exc)
            raise
        _finish(traced, result)
        return result

    return run


class _Body:
    """A traced generator's state between its steps (sans-I/O: the shells do the I/O).

    ``with body:`` brackets each run of the wrapped generator's body: the span is
    current only then, never across a ``yield`` (that would leak it into the
    consumer's context), and an exception leaving the body ends the span. The
    consumer's ``send()`` / ``throw()`` wait in ``sent`` / ``thrown`` for the next step.
    """

    __slots__ = ("items", "sent", "thrown", "traced")

    def __init__(self, traced: TracedSpan) -> None:
        self.traced = traced
        self.items: list[Any] | None = [] if traced._capture_output else None
        self.sent: Any = None
        self.thrown: BaseException | None = None

    def __enter__(self) -> None:
        self.traced.attach()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.traced.detach()
        if exc is not None and not isinstance(exc, (StopIteration, StopAsyncIteration)):
            _end(self.traced, exc)

    def resume(self, send: Callable[[Any], T], throw: Callable[[BaseException], T]) -> T:
        """Resume the wrapped generator with what the consumer sent or threw in."""
        thrown, self.thrown = self.thrown, None
        if thrown is not None:
            return throw(thrown)
        sent, self.sent = self.sent, None
        return send(sent)

    def keep(self, item: Any) -> Any:
        """The item the wrapped generator yielded, captured (up to a limit) for the output."""
        if self.items is not None and len(self.items) < _MAX_CAPTURED_ITEMS:
            self.items.append(item)
        return item

    def finish(self, returned: Any) -> None:
        """The generator is done: the output is the items yielded (or else what it returned)."""
        _finish(self.traced, self.items if self.items is not None else returned)


def _generator_shell(spec: _Spec) -> Callable[..., Any]:
    def run(
        wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any
    ) -> Generator[Any, Any, Any]:
        traced = None
        with internal_errors:
            traced = spec.begin(instance, args, kwargs)
        if traced is None:
            return (yield from wrapped(*args, **kwargs))
        body = _Body(traced)
        with body:
            inner = wrapped(*args, **kwargs)
        while True:
            try:
                with body:
                    item = body.resume(inner.send, inner.throw)
            except StopIteration as stop:
                body.finish(stop.value)
                return stop.value
            try:
                body.sent = yield body.keep(item)
            except GeneratorExit:
                # The span ends exactly once even when the generator's clean-up raises
                # or ignores GeneratorExit (close() then raises RuntimeError).
                with body:
                    inner.close()
                body.finish(None)
                raise
            except BaseException as exc:  # noqa: BLE001 - forwarded into the wrapped generator
                body.thrown = exc

    return run


def _async_generator_shell(spec: _Spec) -> Callable[..., Any]:
    async def run(
        wrapped: Callable[..., Any], instance: Any, args: Any, kwargs: Any
    ) -> AsyncGenerator[Any, Any]:
        traced = None
        with internal_errors:
            traced = spec.begin(instance, args, kwargs)
        inner = wrapped(*args, **kwargs)
        if traced is None:
            async with _aclosing(inner):
                async for item in inner:
                    yield item
            return
        body = _Body(traced)
        while True:
            try:
                with body:
                    item = await body.resume(inner.asend, inner.athrow)
            except StopAsyncIteration:
                body.finish(None)
                return
            try:
                body.sent = yield body.keep(item)
            except GeneratorExit:
                with body:
                    await inner.aclose()
                body.finish(None)
                raise
            except BaseException as exc:  # noqa: BLE001 - forwarded into the wrapped generator
                body.thrown = exc

    return run


class _aclosing:
    __slots__ = ("_gen",)

    def __init__(self, gen: Any) -> None:
        self._gen = gen

    async def __aenter__(self) -> Any:
        return self._gen

    async def __aexit__(self, *exc: object) -> None:
        await self._gen.aclose()


def _finish(traced: TracedSpan, result: Any) -> None:
    if traced._capture_output:
        traced._set_content(semconv.LLMTRACE_OUTPUT, result)  # guarded inside
    _end(traced, None)


def _end(traced: TracedSpan, exc: BaseException | None) -> None:
    with internal_errors:
        traced.end(exc)


@never_raise(False)
def _tracing_on() -> bool:
    """wrapt calls this before each call; False calls the function directly, from C.

    With tracing off that skips the shell, and the packing of arguments for it,
    entirely: the decorator then costs little more than the check itself.
    """
    return runtime.tracer() is not None


def _shell_for(func: Callable[..., Any]) -> Callable[[_Spec], Callable[..., Any]]:
    target = inspect.unwrap(getattr(func, "__func__", func))
    if inspect.isasyncgenfunction(target):
        return _async_generator_shell
    if inspect.iscoroutinefunction(target):
        return _async_shell
    if inspect.isgeneratorfunction(target):
        return _generator_shell
    return _sync_shell


@overload
def trace(func: F, /) -> F: ...


@overload
def trace(
    *,
    name: str | None = None,
    kind: SpanKindName = "task",
    capture_input: bool | None = None,
    capture_output: bool | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Callable[[F], F]: ...


def trace(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    kind: SpanKindName = "task",
    capture_input: bool | None = None,
    capture_output: bool | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Any:
    """Trace every call of the decorated function as a span.

    ``name`` defaults to the function's qualified name; ``kind`` is one of
    workflow, task, agent, tool, retriever, embedding, llm. ``capture_input`` and
    ``capture_output`` default to the global content-capture setting (off unless
    enabled); ``attributes`` are added to every span.
    """
    check_kind(kind)

    def decorate(target: Callable[..., Any]) -> Any:
        spec = _Spec(target, name, kind, capture_input, capture_output, attributes)
        # Imported here, not at the top: wrapt 2 imports asyncio and importlib.metadata,
        # which would more than double the cost of `import llmtrace` for apps that
        # import it without decorating anything yet.
        import wrapt

        return wrapt.FunctionWrapper(target, _shell_for(target)(spec), enabled=_tracing_on)

    if func is not None:
        return decorate(func)
    return decorate
