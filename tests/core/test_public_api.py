"""The public surface: a sorted __all__, every name importable, a cheap import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import llmtrace


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert llmtrace.__all__ == sorted(llmtrace.__all__)
    for name in llmtrace.__all__:
        assert getattr(llmtrace, name) is not None, name


def test_py_typed_is_shipped() -> None:
    assert (Path(llmtrace.__file__).parent / "py.typed").exists()


def test_import_installs_nothing_and_loads_no_llm_library() -> None:
    code = (
        "import sys, json, llmtrace\n"
        "from opentelemetry import trace\n"
        "heavy = ['openai', 'langchain_core', 'tiktoken', 'genai_prices', 'pydantic']\n"
        "print(json.dumps({'loaded': [m for m in heavy if m in sys.modules],\n"
        "  'provider': type(trace.get_tracer_provider()).__name__}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout)
    assert report == {"loaded": [], "provider": "ProxyTracerProvider"}
