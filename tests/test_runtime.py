"""Without ``init()``, llmtrace traces into whatever global TracerProvider the application
sets, from the first call after it is set, and asks little of the API until then."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmtrace
from llmtrace._runtime import runtime


@llmtrace.trace(name="work")
def work(n: int) -> int:
    return n + 1


def test_calls_before_the_application_sets_a_provider_are_not_traced_and_later_ones_are() -> None:
    assert runtime.tracer() is None
    assert [work(i) for i in range(3)] == [1, 2, 3]

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)

    assert work(10) == 11
    assert [span.name for span in exporter.get_finished_spans()] == ["work"]
    assert runtime.tracer() is runtime.tracer() is not None


def test_while_none_is_set_the_api_is_asked_for_the_global_provider_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = []
    real = trace.get_tracer_provider

    def counting() -> trace.TracerProvider:
        asked.append(1)
        return real()

    monkeypatch.setattr(trace, "get_tracer_provider", counting)
    for i in range(100):
        work(i)
    assert len(asked) == 1

    trace.set_tracer_provider(TracerProvider())
    assert runtime.tracer() is not None
    assert len(asked) == 2  # once more, to keep the provider now set


@pytest.mark.usefixtures("lenient")
def test_a_provider_whose_get_tracer_raises_never_breaks_the_call() -> None:
    class Broken(trace.TracerProvider):
        def get_tracer(self, *args: object, **kwargs: object) -> trace.Tracer:
            raise RuntimeError("broken provider")

    assert work(1) == 2  # none set yet: the proxy provider is kept
    trace.set_tracer_provider(Broken())
    assert [work(i) for i in range(3)] == [1, 2, 3]


def test_a_provider_named_by_otel_python_tracer_provider_is_used_without_init() -> None:
    app = textwrap.dedent(
        """
        import llmtrace
        from opentelemetry import trace

        @llmtrace.trace(name="work")
        def work():
            return trace.get_current_span().is_recording()

        print(work(), type(trace.get_tracer_provider()).__name__)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMTRACE_"))}
    env["OTEL_PYTHON_TRACER_PROVIDER"] = "sdk_tracer_provider"
    process = subprocess.run(
        [sys.executable, "-c", app], capture_output=True, text=True, env=env, timeout=60
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout.split() == ["True", "TracerProvider"]
