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


def _type_checking_imports() -> dict[str, str]:
    """Public name -> module, as the ``if TYPE_CHECKING:`` block of __init__.py imports them."""
    import ast

    tree = ast.parse(Path(llmtrace.__file__).read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
    )
    found: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            assert alias.asname == alias.name, f"{alias.name}: re-export as `X as X`"
            found[alias.name] = "." * node.level + (node.module or "")
    return found


def test_one_table_drives_exports_type_checking_imports_and_all() -> None:
    table = llmtrace._EXPORTS
    assert _type_checking_imports() == table
    assert llmtrace.__all__ == sorted(["__version__", *table])


def test_all_is_exactly_what_the_package_exports() -> None:
    """Every public attribute is in __all__ and nothing else: private modules stay private."""
    code = (
        "import json, types, llmtrace\n"
        "for name in llmtrace.__all__: getattr(llmtrace, name)\n"
        "public = [n for n, v in vars(llmtrace).items()\n"
        "          if not n.startswith('_') and not isinstance(v, types.ModuleType)\n"
        "          and n not in ('annotations', 'TYPE_CHECKING', 'Any', 'VERSION')]\n"
        "modules = [n for n, v in vars(llmtrace).items()\n"
        "           if isinstance(v, types.ModuleType) and not n.startswith('_')]\n"
        "print(json.dumps({'public': sorted(public + ['__version__']), 'modules': modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout)
    assert report["public"] == llmtrace.__all__
    # Only the documented public modules may appear as attributes of the package.
    assert set(report["modules"]) <= {"eval", "instrumentation", "semconv", "testing", "langchain"}
