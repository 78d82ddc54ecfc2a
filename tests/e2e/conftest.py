"""The ``phoenix`` fixture: a real OTLP receiver (Arize Phoenix) for end-to-end tests.

Where Phoenix comes from, in order:

1. ``LLMTRACE_PHOENIX_URL`` (and ``LLMTRACE_PHOENIX_GRPC``, default: the same host on
   port 4317) name a running Phoenix, e.g. one CI started with ``.ci/phoenix.sh start``.
   If it does not answer ``/healthz``, the tests fail: it was configured explicitly.
2. Otherwise a Python with Phoenix installed, ``LLMTRACE_PHOENIX_PYTHON`` or
   ``/tmp/phoenix-venv/bin/python``, starts one for the test session on free loopback
   ports (``LLMTRACE_PHOENIX_START_TIMEOUT`` seconds to become healthy, default 180) and
   stops it at the end. If that Phoenix fails to start, the tests fail with its log.
3. Otherwise the tests are skipped, except under CI (``CI`` is true), where a missing
   Phoenix is a failure: CI must run them.

Install Phoenix in its own virtualenv (it pulls in openai and much more):
``.ci/phoenix.sh install /tmp/phoenix-venv``. See ``tests/support/phoenix_server.py`` for the
span dicts ``phoenix.spans()`` returns and how Phoenix picks the project of incoming spans.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.phoenix_server import DEFAULT_VENV, Phoenix, PhoenixServer, has_phoenix

_TRUE = ("1", "true", "yes", "on")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in _TRUE


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"end-to-end tests must run under CI, but {reason}", pytrace=False)
    pytest.skip(reason)


def _configured() -> Phoenix | None:
    url = os.environ.get("LLMTRACE_PHOENIX_URL", "").strip().rstrip("/")
    if not url:
        return None
    grpc = os.environ.get("LLMTRACE_PHOENIX_GRPC", "").strip().rstrip("/")
    if not grpc:
        host = urllib.parse.urlsplit(url).hostname or "127.0.0.1"
        grpc = f"http://{host}:4317"
    return Phoenix(http_endpoint=url, grpc_endpoint=grpc)


def _phoenix_python() -> Path | None:
    configured = os.environ.get("LLMTRACE_PHOENIX_PYTHON", "").strip()
    candidates = [Path(configured)] if configured else [DEFAULT_VENV / "bin" / "python"]
    return next((p for p in candidates if has_phoenix(p)), None)


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    """A running Phoenix: ``.http_endpoint``, ``.grpc_endpoint``, ``.spans(project)``."""
    configured = _configured()
    if configured is not None:
        if not configured.healthy(timeout=10):
            pytest.fail(
                f"LLMTRACE_PHOENIX_URL={configured.http_endpoint} does not answer /healthz",
                pytrace=False,
            )
        yield configured
        return
    python = _phoenix_python()
    if python is None:
        _unavailable(
            "no Phoenix: set LLMTRACE_PHOENIX_URL to a running one, or install it with "
            "`.ci/phoenix.sh install /tmp/phoenix-venv` (or point LLMTRACE_PHOENIX_PYTHON "
            "at a Python that has arize-phoenix)"
        )
    assert python is not None
    server = PhoenixServer(python, tmp_path_factory.mktemp("phoenix"))
    timeout = float(os.environ.get("LLMTRACE_PHOENIX_START_TIMEOUT", "180"))
    try:
        started = server.start(timeout=timeout)
    except RuntimeError as exc:
        server.stop()
        pytest.fail(str(exc), pytrace=False)
    try:
        yield started
    finally:
        server.stop()
