"""Helpers shared by the test suites: local servers speaking each provider's wire format,
response bodies, recorded-traffic replay, launchers for real receivers (Phoenix, MLflow,
Prometheus), the MCP subprocess scripts. Test modules import them as ``tests.support.<name>``;
fixtures stay in the ``conftest.py`` next to the tests that use them."""

from __future__ import annotations

import os
from pathlib import Path

SUPPORT = Path(__file__).resolve().parent
REPO = SUPPORT.parents[1]
# Recorded real traffic lives beside the repository, never inside it.
SHARED = REPO.parent / "shared"


def subprocess_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the repository first on ``PYTHONPATH``, so that a child Python process
    (a script of this package, a generated test file) can import ``tests.support``."""
    paths = [str(REPO), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    return {**env, "PYTHONPATH": os.pathsep.join(paths)}
