"""The anthropic SDK's own OpenTelemetry spans, kept out while llmtrace traces its calls.

anthropic 2.x writes an ``anthropic.messages.create`` CLIENT span (with
``gen_ai.*`` usage attributes) for every API call to the global tracer provider,
on by default and blind to OpenTelemetry's suppression key. Under llmtrace's own
LLM span it would be a second LLM span for the same call (two generations and
doubled tokens in most back ends). The SDK's documented switch is the
``open_telemetry`` client option, or, for a client given none, the environment
variable ``ANTHROPIC_OPEN_TELEMETRY=false``, which the client reads once, when it
is constructed.

So instrumenting sets ``ANTHROPIC_OPEN_TELEMETRY=false`` when the variable is
unset, and uninstrumenting removes it again. A client given its own
``open_telemetry`` option, one constructed before llmtrace instrumented the SDK,
and a process that set the variable itself keep the SDK's spans (beneath
llmtrace's span): that is the application's choice. See docs/anthropic.md.
"""

from __future__ import annotations

import os

ENV = "ANTHROPIC_OPEN_TELEMETRY"
_set_by_us = False


def take_over() -> None:
    """Turn the SDK's own spans off for clients constructed from now on (if nobody chose)."""
    global _set_by_us
    if ENV not in os.environ:
        os.environ[ENV] = "false"
        _set_by_us = True


def give_back() -> None:
    """Undo ``take_over()``: the variable is removed if llmtrace set it and nobody changed it."""
    global _set_by_us
    if _set_by_us and os.environ.get(ENV) == "false":
        del os.environ[ENV]
    _set_by_us = False
