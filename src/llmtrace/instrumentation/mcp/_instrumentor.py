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
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from opentelemetry.trace import Tracer

from ..._genai.instrumentor import Instrumentor, Target
from ..._genai.shells import async_shell
from . import _client
from ._client import ClientPatch
from ._server import ServerPatch

_SESSION = "mcp.client.session"
_STDIO = "mcp.client.stdio"
_HTTP = "mcp.client.streamable_http"
_SERVER = "mcp.server.lowlevel.server"
_HTTP_CLIENTS = ("streamable_http_client", "streamablehttp_client")
_NATIVE = "llmtrace.instrumentation.mcp._native"


def mcp_major() -> int:
    """The installed mcp's major version (1 when the metadata cannot tell)."""
    try:
        return int(version("mcp").split(".", 1)[0])
    except (PackageNotFoundError, ValueError):
        return 1


def _transports() -> list[Target]:
    """The transport functions this mcp version has (what a session runs over)."""
    http = importlib.import_module(_HTTP)
    found = [Target(_STDIO, "stdio_client", _client.stdio_wrapper)]
    found += [
        Target(_HTTP, name, _client.http_wrapper) for name in _HTTP_CLIENTS if hasattr(http, name)
    ]
    return found


class MCPInstrumentor(Instrumentor):
    """OpenTelemetry instrumentor (entry point ``llmtrace_mcp``) for the mcp SDK."""

    dependencies = ("mcp >= 1.10",)

    def targets(self, tracer: Tracer | None, instruments: Any) -> Iterable[Target]:
        if mcp_major() >= 2:
            return self._native_targets()
        from mcp.client.session import ClientSession

        can_inject = "meta" in inspect.signature(ClientSession.call_tool).parameters
        return [
            Target(
                _SESSION, "ClientSession.call_tool", async_shell(ClientPatch(tracer, can_inject))
            ),
            Target(_SESSION, "ClientSession.__init__", _client.session_init_wrapper),
            Target(_SERVER, "Server.call_tool", ServerPatch(tracer).decorator_wrapper()),
            *_transports(),
        ]

    @staticmethod
    def _native_targets() -> list[Target]:
        """mcp 2.x: enrich the SDK's own spans (``_native``), open none."""
        from . import _native

        _native.add_enricher()
        call_tool = async_shell(_native.NativeCallPatch(_client.transport_of))
        session_init = _native.session_init_wrapper(_client.register_session)
        return [
            Target(_SESSION, "ClientSession.call_tool", call_tool),
            Target(_SESSION, "ClientSession.__init__", session_init),
            Target(_SERVER, "Server.__init__", _native.server_init_wrapper),
            *_transports(),
        ]

    def restored(self) -> None:
        if _NATIVE in sys.modules:
            sys.modules[_NATIVE].Switch.on = False
