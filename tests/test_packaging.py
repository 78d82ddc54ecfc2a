"""What ``pip install llmtrace`` brings: cost without an extra, and the licence text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the checks are the same on 3.10

ROOT = Path(__file__).resolve().parents[1]


def _project() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        project: dict[str, Any] = tomllib.load(f)["project"]
    return project


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].strip().lower() for r in requirements}


def test_a_plain_install_can_price_calls() -> None:
    project = _project()
    assert "genai-prices" in _names(project["dependencies"])
    # The old extra still resolves, so `pip install "llmtrace[cost]"` keeps working.
    assert "genai-prices" in _names(project["optional-dependencies"]["cost"])


def test_the_wheel_carries_the_apache_license_text() -> None:
    project = _project()
    assert project["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    # hatchling puts LICENSE* into the wheel unless license-files says otherwise.
    files = project.get("license-files")
    assert files is None or any(Path("LICENSE").match(pattern) for pattern in files)
