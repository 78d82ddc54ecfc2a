"""The instrumentor base every integration subclasses: its patches, declared as targets.

    class GoogleGenAIInstrumentor(Instrumentor):
        dependencies = ("google-genai >= 1.10",)

        def targets(self, tracer, instruments):
            patch = GoogleGenAIPatch(tracer, instruments)   # begin / failed / finished
            return [Target("google.genai.models", "Models.generate_content", sync_shell(patch))]

``instrument(tracer_provider=..., meter_provider=...)`` (OpenTelemetry's contract)
resolves the providers once (``given_telemetry``: a tracer and metric instruments on
what was given, None for llmtrace's own setup) and hands them to ``targets()``. Each
target is wrapped with ``wrapt.wrap_function_wrapper``; ``uninstrument()`` puts every
original back (``PatchSet.undo``), then ``restored()`` undoes what is not a patch (a
registered processor, per-client wrappers). A patch that fails to apply undoes the
ones already applied before the error propagates, so a retry never wraps twice.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any, ClassVar, NamedTuple

import wrapt
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.trace import Tracer

from .telemetry import given_telemetry

__all__ = ["Instrumentor", "PatchSet", "Target"]


class Target(NamedTuple):
    """One patch: ``wrapper`` around ``module``'s ``name`` (``"Class.method"`` or a function).

    ``module`` is a module name, or an object (a module, class or instance) to patch on.
    """

    module: Any
    name: str
    wrapper: Callable[..., Any]


class PatchSet:
    """Wrappers applied together and undone together, last applied first undone."""

    __slots__ = ("_applied",)

    def __init__(self) -> None:
        # (the object patched, its attribute, the wrapper installed there)
        self._applied: list[tuple[Any, str, Any]] = []

    def apply(self, targets: Iterable[Target]) -> None:
        """Wrap every target; on an error, undo those this call applied and re-raise."""
        done = len(self._applied)
        try:
            for module, name, wrapper in targets:
                owner, attribute, _ = wrapt.resolve_path(module, name)
                installed = wrapt.wrap_function_wrapper(owner, attribute, wrapper)
                self._applied.append((owner, attribute, installed))
        except BaseException:
            self._undo(done)
            raise

    def undo(self) -> None:
        """Restore every original (harmless when nothing is applied)."""
        self._undo(0)

    def _undo(self, keep: int) -> None:
        while len(self._applied) > keep:
            owner, attribute, installed = self._applied.pop()
            # What wrapt wrapped, as it found it: a classmethod gets its classmethod back.
            setattr(owner, attribute, installed.__wrapped__)


class Instrumentor(BaseInstrumentor):  # type: ignore[misc]
    """OpenTelemetry's ``BaseInstrumentor`` with the patching declared, not hand-written.

    A subclass gives ``dependencies`` and ``targets()``, and ``restored()`` when it
    sets up anything besides its patches.
    """

    dependencies: ClassVar[tuple[str, ...]] = ()
    _patches: PatchSet | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return self.dependencies

    def targets(self, tracer: Tracer | None, instruments: Any) -> Iterable[Target]:
        """Set up with the resolved tracer and instruments; the patches to apply."""
        raise NotImplementedError

    def restored(self) -> None:
        """Undo what ``targets()`` set up besides its patches (they are already undone)."""

    def _instrument(self, **kwargs: Any) -> None:
        patches = PatchSet()
        try:
            patches.apply(self.targets(*given_telemetry(**kwargs)))
        except BaseException:
            self.restored()
            raise
        self._patches = patches

    def _uninstrument(self, **kwargs: Any) -> None:
        if self._patches is not None:
            self._patches.undo()
            self._patches = None
        self.restored()
