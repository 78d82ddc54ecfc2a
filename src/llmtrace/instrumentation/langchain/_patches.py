"""The wrapt patches on langchain-core (and LangGraph), installed and removed here.

Two groups:

* **scopes** (``install_scopes``): make a run's span current inside its body
  (see ``_scope``). Installed by the first ``LLMTraceCallbackHandler`` made and
  by ``instrument_langchain()``; harmless when no handler is in use (each
  wrapper is a dictionary look-up that finds no run).
* **auto-registration** (``install_auto_handler``): wraps
  ``BaseCallbackManager.__init__`` so every callback manager LangChain builds
  carries one shared handler, unless it already has an llmtrace handler.

Every patch is optional: a langchain-core version without one of these
internals loses only that piece (logged once at debug level).
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import Any

import wrapt
from opentelemetry.instrumentation.utils import unwrap

from ..._errors import internal_errors, logger
from . import _scope

_CHAT = "langchain_core.language_models.chat_models"
_LLMS = "langchain_core.language_models.llms"
_RETRIEVERS = "langchain_core.retrievers"


def _model_scopes(
    module: str, cls: str, generate: str, agenerate: str, managers: str
) -> tuple[tuple[str, str, Any], ...]:
    """The scopes every language model class gets: its generate steps (``managers``
    names their run-manager argument) and ``stream`` / ``astream``."""
    return (
        (module, f"{cls}.{generate}", _scope.call_scope(2, managers)),
        (module, f"{cls}.{agenerate}", _scope.async_call_scope(2, managers)),
        (module, f"{cls}.stream", _scope.stream_scope),
        (module, f"{cls}.astream", _scope.astream_scope),
    )


# (module, attribute path, wrapper) for the context scopes.
_SCOPES: tuple[tuple[str, str, Any], ...] = (
    ("langchain_core.runnables.config", "_set_config_context", _scope.bridge),
    *_model_scopes(
        _CHAT, "BaseChatModel", "_generate_with_cache", "_agenerate_with_cache", "run_manager"
    ),
    *_model_scopes(_LLMS, "BaseLLM", "_generate_helper", "_agenerate_helper", "run_managers"),
    # stream_events(version="v3") drives these lazily from the consumer's context.
    (_CHAT, "BaseChatModel._iter_v2_events", _scope.events_scope),
    (_CHAT, "BaseChatModel._aiter_v2_events", _scope.aevents_scope),
    (_RETRIEVERS, "BaseRetriever.invoke", _scope.slot_scope),
    (_RETRIEVERS, "BaseRetriever.ainvoke", _scope.async_slot_scope),
)
_LANGGRAPH_MODULE = "langgraph._internal._runnable"

_lock = threading.RLock()
_scopes_on = False
_patched: list[tuple[str, str]] = []
_langgraph_hook_registered = False
_auto_handler: Any = None


def _resolve(module_name: str, path: str) -> tuple[Any, str] | None:
    try:
        owner: Any = importlib.import_module(module_name)
    except ImportError:
        return None
    *parents, attribute = path.split(".")
    for part in parents:
        owner = getattr(owner, part, None)
        if owner is None:
            return None
    if not hasattr(owner, attribute):
        return None
    return owner, attribute


def _wrap(module_name: str, path: str, wrapper: Any) -> None:
    found = _resolve(module_name, path)
    if found is None:
        logger.debug("llmtrace: langchain %s.%s not found; not patched", module_name, path)
        return
    owner, attribute = found
    if isinstance(getattr(owner, attribute), wrapt.ObjectProxy):
        return
    wrapt.wrap_function_wrapper(owner, attribute, wrapper)
    _patched.append((module_name, path))


def install_scopes() -> None:
    """Patch the body-context scopes once (idempotent, thread-safe)."""
    global _scopes_on, _langgraph_hook_registered
    if _scopes_on:
        return
    with _lock:
        if _scopes_on:
            return
        _scopes_on = True
        for module_name, path, wrapper in _SCOPES:
            with internal_errors:
                _wrap(module_name, path, wrapper)
        if _LANGGRAPH_MODULE in sys.modules:
            _patch_langgraph(sys.modules[_LANGGRAPH_MODULE])
        elif not _langgraph_hook_registered:
            # LangGraph has its own copy of _set_config_context; patch it when imported.
            wrapt.register_post_import_hook(_patch_langgraph, _LANGGRAPH_MODULE)
            _langgraph_hook_registered = True


def _patch_langgraph(module: Any) -> None:
    with _lock, internal_errors:
        if _scopes_on:
            _wrap(module.__name__, "_set_config_context", _scope.bridge)
            if sys.version_info < (3, 11):  # no create_task(context=): see node_scope
                _wrap(module.__name__, "RunnableCallable.ainvoke", _scope.node_scope)
                _wrap(module.__name__, "RunnableSeq.ainvoke", _scope.node_scope)


def uninstall_scopes() -> None:
    global _scopes_on
    with _lock:
        for module_name, path in reversed(_patched):
            with internal_errors:
                found = _resolve(module_name, path)
                if found is not None:
                    unwrap(found[0], found[1])
        _patched.clear()
        _scopes_on = False


def scopes_installed() -> bool:
    return _scopes_on


# -- auto-registration -------------------------------------------------------------------


def _add_handler(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> None:
    wrapped(*args, **kwargs)
    handler = _auto_handler
    if handler is None:
        return
    with internal_errors:
        cls = type(handler)
        if any(isinstance(h, cls) for h in instance.inheritable_handlers) or any(
            isinstance(h, cls) for h in instance.handlers
        ):
            return
        instance.add_handler(handler, True)


def install_auto_handler(handler: Any) -> None:
    global _auto_handler
    with _lock:
        _auto_handler = handler
        from langchain_core.callbacks import base

        if not isinstance(base.BaseCallbackManager.__init__, wrapt.ObjectProxy):
            wrapt.wrap_function_wrapper(base, "BaseCallbackManager.__init__", _add_handler)


def uninstall_auto_handler() -> None:
    global _auto_handler
    with _lock:
        _auto_handler = None
        from langchain_core.callbacks import base

        unwrap(base.BaseCallbackManager, "__init__")


def auto_handler() -> Any:
    return _auto_handler
