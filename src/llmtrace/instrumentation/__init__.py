"""llmtrace's auto-instrumentations, one package per library (``llmtrace.instrumentation.<name>``).

Each package's ``instrument_<name>()`` / ``uninstrument_<name>()`` / ``is_instrumented()``
come from ``switches()`` below: they switch its ``BaseInstrumentor`` (also the
``llmtrace_<name>`` entry point) on and off through ``switch_on`` / ``switch_off``, so
calling them twice is harmless::

    instrument_anthropic, uninstrument_anthropic, is_instrumented = switches(
        __name__, AnthropicInstrumentor, "the anthropic SDK"
    )
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["Switches", "switch_off", "switch_on", "switches"]


def switch_on(instrumentor: Any, **kwargs: Any) -> None:
    """Instrument unless already instrumented (the instrumentor is a singleton)."""
    if not instrumentor.is_instrumented_by_opentelemetry:
        # The package metadata check costs milliseconds; a failed patch raises anyway.
        instrumentor.instrument(skip_dep_check=True, **kwargs)


def switch_off(instrumentor: Any) -> None:
    """Undo ``switch_on``; nothing happens when not instrumented."""
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


class Switches(NamedTuple):
    """A package's three public functions, in the order they are unpacked."""

    instrument: Callable[[], None]
    uninstrument: Callable[[], None]
    is_instrumented: Callable[[], bool]


def switches(package: str, instrumentor: Callable[[], Any], library: str) -> Switches:
    """``instrument_<name>`` / ``uninstrument_<name>`` / ``is_instrumented`` for ``package``.

    ``package`` is the package's ``__name__`` (its last part is ``<name>``),
    ``instrumentor`` its ``BaseInstrumentor`` class and ``library`` what it instruments,
    as the docstrings name it ("the anthropic SDK").
    """
    name = package.rpartition(".")[2]

    def instrument() -> None:
        switch_on(instrumentor())

    def uninstrument() -> None:
        switch_off(instrumentor())

    def is_instrumented() -> bool:
        return bool(instrumentor().is_instrumented_by_opentelemetry)

    docs = (
        (instrument, f"instrument_{name}", f"Instrument {library}. Calling it again does nothing."),
        (
            uninstrument,
            f"uninstrument_{name}",
            f"Undo ``instrument_{name}()``, restoring {library}'s own behaviour. "
            "Safe when not instrumented.",
        ),
        (is_instrumented, "is_instrumented", f"True while llmtrace instruments {library}."),
    )
    for function, function_name, doc in docs:
        function.__name__ = function.__qualname__ = function_name
        function.__module__ = package
        function.__doc__ = doc
    return Switches(instrument, uninstrument, is_instrumented)
