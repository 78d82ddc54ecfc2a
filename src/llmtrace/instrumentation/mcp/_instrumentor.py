"""The instrumentor: which public functions of the mcp SDK are wrapped, per major version.

mcp 1.x has no telemetry of its own: llmtrace wraps ``ClientSession.call_tool`` (the
CLIENT span and the context in ``_meta``), ``ClientSession.__init__`` and the transport
functions (what the session runs over), and ``Server.call_tool`` (the SERVER span).
mcp 2.x opens a CLIENT span per request and a SERVER span per handled request itself,
injecting and extracting the same ``_meta`` context, so llmtrace wraps nothing there:
a second span for the same call is exactly what the issue forbids.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Collection
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.instrumentation.utils import unwrap

from ..._runtime import INSTRUMENTATION_NAME, VERSION
from . import _client
from ._client import ClientPatch
from ._server import ServerPatch

_SESSION = "mcp.client.session"
_STDIO = "mcp.client.stdio"
_HTTP = "mcp.client.streamable_http"
_SERVER = "mcp.server.lowlevel.server"
_HTTP_CLIENTS = ("streamable_http_client", "streamablehttp_client")


def mcp_major() -> int:
    """The installed mcp's major version (1 when the metadata cannot tell)."""
    try:
        return int(version("mcp").split(".", 1)[0])
    except (PackageNotFoundError, ValueError):
        return 1


def _has(module: str, name: str) -> bool:
    return hasattr(importlib.import_module(module), name)


def _wrap(targets: list[tuple[str, str, Any]]) -> None:
    for module, name, wrapper in targets:
        wrapt.wrap_function_wrapper(module, name, wrapper)
    MCPInstrumentor._wrapped = tuple(
        (module, *name.rpartition(".")[::2]) for module, name, _ in targets
    )


class MCPInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """OpenTelemetry instrumentor (entry point ``llmtrace_mcp``) for the mcp SDK."""

    _wrapped: tuple[tuple[str, str, str], ...] = ()

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("mcp >= 1.10",)

    def _instrument(self, **kwargs: Any) -> None:
        if mcp_major() >= 2:
            self._instrument_native()
            return
        tracer_provider = kwargs.get("tracer_provider")
        tracer = (
            tracer_provider.get_tracer(INSTRUMENTATION_NAME, VERSION) if tracer_provider else None
        )
        from mcp.client.session import ClientSession

        can_inject = "meta" in inspect.signature(ClientSession.call_tool).parameters
        client = ClientPatch(tracer, can_inject)
        server = ServerPatch(tracer)
        targets: list[tuple[str, str, Any]] = [
            (_SESSION, "ClientSession.call_tool", client.wrapper()),
            (_SESSION, "ClientSession.__init__", _client.session_init_wrapper),
            (_STDIO, "stdio_client", _client.stdio_wrapper),
            (_SERVER, "Server.call_tool", server.decorator_wrapper()),
        ]
        targets += [
            (_HTTP, name, _client.http_wrapper) for name in _HTTP_CLIENTS if _has(_HTTP, name)
        ]
        _wrap(targets)

    @staticmethod
    def _instrument_native() -> None:
        """mcp 2.x: enrich the SDK's own spans (``_native``), open none."""
        from . import _native

        targets: list[tuple[str, str, Any]] = [
            (_SESSION, "ClientSession.call_tool", _native.call_tool_wrapper(_client.transport_of)),
            (
                _SESSION,
                "ClientSession.__init__",
                _native.session_init_wrapper(_client.register_session),
            ),
            (_STDIO, "stdio_client", _client.stdio_wrapper),
            (_SERVER, "Server.__init__", _native.server_init_wrapper),
        ]
        targets += [
            (_HTTP, name, _client.http_wrapper) for name in _HTTP_CLIENTS if _has(_HTTP, name)
        ]
        _wrap(targets)
        _native.add_enricher()

    def _uninstrument(self, **kwargs: Any) -> None:
        for module, owner, attribute in MCPInstrumentor._wrapped:
            target: Any = importlib.import_module(module)
            if owner:
                target = getattr(target, owner)
            unwrap(target, attribute)
        MCPInstrumentor._wrapped = ()
        if "llmtrace.instrumentation.mcp._native" in sys.modules:
            sys.modules["llmtrace.instrumentation.mcp._native"].Switch.on = False
