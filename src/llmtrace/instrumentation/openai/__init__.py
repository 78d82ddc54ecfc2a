"""Auto-instrumentation of the ``openai`` SDK (1.x and newer): one CLIENT span per call.

    import llmtrace
    llmtrace.init()                   # instruments openai when it is installed
    # or explicitly:
    from llmtrace.instrumentation.openai import instrument_openai, uninstrument_openai
    instrument_openai()               # idempotent
    ...
    uninstrument_openai()             # originals restored

Also available to OpenTelemetry's auto-instrumentation as the
``llmtrace_openai`` ``opentelemetry_instrumentor`` entry point
(``OpenAIInstrumentor``). What ends up on the spans, the provider table and
the streaming rules are described in ``docs/openai.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import switches
from ._instrumentor import OpenAIInstrumentor
from ._providers import allow_usage_hosts as _allow_usage_hosts

__all__ = [
    "OpenAIInstrumentor",
    "allow_usage_hosts",
    "instrument_openai",
    "is_instrumented",
    "uninstrument_openai",
]


instrument_openai, uninstrument_openai, is_instrumented = switches(
    __name__, OpenAIInstrumentor, "the openai SDK"
)


def allow_usage_hosts(hosts: Sequence[str]) -> None:
    """Hosts (``"host"`` or ``"host:port"``) known to accept ``stream_options.include_usage``.

    For streamed chat and completion calls to these hosts (api.openai.com always
    included), llmtrace asks for the usage chunk when the caller did not, and
    hides that extra chunk from the caller. Elsewhere usage is counted locally.
    """
    _allow_usage_hosts(hosts)
