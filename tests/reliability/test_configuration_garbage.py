"""Configuration garbage: a clear error for a bad argument, a warning and the default for a
malformed environment variable, and never a crash at import.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmtrace
from llmtrace import ConfigurationError
from llmtrace._config import ENV_VARS, Settings, resolve_settings
from tests.support.reliability import Figures

SECRET = "glc_s3cr3t-T0KEN"

# setting -> values init() must reject with a ConfigurationError naming the setting.
BAD_ARGUMENTS: dict[str, list[Any]] = {
    "endpoint": ["collector:4317", "ftp://x", 42],
    "protocol": ["udp", "", 7],
    "headers": ["Authorization=Bearer " + SECRET, {"Authorization": 12345}, [SECRET]],
    "exporter": ["kafka", 3.5, object()],
    "capture_content": ["sometimes", [True]],
    "max_attribute_bytes": [0, -1, 10, "big", 10**12],
    "sample_rate": [-0.1, 1.5, "half", float("nan")],
    "instrument": [["openai", "llamaindex"], "everything", 12],
    "metrics": ["perhaps", [1]],
    "export_timeout": [0, -5, "soon", float("inf")],
    "max_queue_size": [0, -1, "many", 10**9],
    "shutdown_timeout": [0, -1, "forever", 10_000],
    "tracer_provider": [object(), "global"],
    "meter_provider": [object()],
    "resource_attributes": ["team=ml", [1, 2]],
    "service_name": [123, ["svc"]],
    "redact": ["mask-emails", 5],
}
BAD_ARGUMENT_CASES = [(name, value) for name, values in BAD_ARGUMENTS.items() for value in values]


@pytest.mark.parametrize(("name", "value"), BAD_ARGUMENT_CASES)
def test_a_bad_init_argument_fails_with_an_error_naming_the_setting(
    name: str, value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigurationError) as raised:
        llmtrace.init(**{name: value}, instrument=False, exporter="none") if name not in (
            "instrument",
            "exporter",
        ) else llmtrace.init(**{name: value})
    message = str(raised.value)
    assert re.search(rf"init\({name}[=.]", message), message
    assert SECRET not in message and SECRET not in caplog.text
    assert llmtrace._setup.active() is None  # nothing half-installed
    Figures.add("configuration.bad_arguments", 1)


# environment variable -> malformed values; each must warn, name the variable and use
# the default, never raise.
BAD_ENVIRONMENT: dict[str, list[str]] = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": ["collector:4318", "not a url"],
    "OTEL_EXPORTER_OTLP_PROTOCOL": ["carrier-pigeon"],
    "OTEL_EXPORTER_OTLP_HEADERS": [SECRET, "Authorization"],
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS": ["=" + SECRET],
    "OTEL_RESOURCE_ATTRIBUTES": ["no-equals-sign"],
    "LLMTRACE_EXPORTER": ["kafka"],
    "LLMTRACE_CONSOLE": ["loud"],
    "LLMTRACE_CAPTURE_CONTENT": ["maybe", "2"],
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": ["SPAN_AND_EVENT?"],
    "LLMTRACE_MAX_ATTRIBUTE_BYTES": ["lots", "-5", "1e99", "12"],
    "LLMTRACE_SAMPLE_RATE": ["2", "abc", "nan"],
    "LLMTRACE_INSTRUMENT": ["everything", "openai,,,bogus"],
    "LLMTRACE_METRICS": ["sometimes"],
    "LLMTRACE_EXPORT_TIMEOUT": ["-1", "ten", "inf"],
    "LLMTRACE_MAX_QUEUE_SIZE": ["0", "lots", "3.5"],
    "OTEL_BSP_MAX_QUEUE_SIZE": ["-7"],
    "LLMTRACE_SHUTDOWN_TIMEOUT": ["forever", "0"],
    "OTEL_SDK_DISABLED": ["perhaps"],
    "LLMTRACE_PROMPT_INTEROP": ["kinda"],
}
BAD_ENV_CASES = [(var, value) for var, values in BAD_ENVIRONMENT.items() for value in values]
DEFAULTS = Settings()


def _setting_of(var: str) -> str:
    return next(name for name, names in ENV_VARS.items() if var in names)


@pytest.mark.parametrize(("var", "value"), BAD_ENV_CASES)
def test_a_malformed_environment_variable_warns_and_the_default_is_used(
    var: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    resolved = resolve_settings({}, environ={var: value})
    name = _setting_of(var)
    assert getattr(resolved, name) == getattr(DEFAULTS, name)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and var in warnings[0]
    assert SECRET not in caplog.text
    Figures.add("configuration.bad_environment_values", 1)


def test_init_with_every_variable_malformed_at_once_still_works(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for var, values in BAD_ENVIRONMENT.items():
        monkeypatch.setenv(var, values[0])
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.setenv("LLMTRACE_PRICES_FILE", "/nonexistent/prices.toml")  # read by init()
    caplog.set_level(logging.DEBUG)
    handle = llmtrace.init(exporter="none", instrument=False)
    assert handle.enabled
    assert "ignoring LLMTRACE_PRICES_FILE" in caplog.text
    for name in ("sample_rate", "max_queue_size", "export_timeout", "protocol", "headers"):
        assert getattr(handle.settings, name) == getattr(DEFAULTS, name)
    assert SECRET not in caplog.text


_any_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    environ=st.dictionaries(
        st.sampled_from(sorted({v for vs in ENV_VARS.values() for v in vs})), _any_text, max_size=6
    )
)
def test_any_environment_resolves_without_raising(environ: dict[str, str]) -> None:
    resolved = resolve_settings({}, environ=environ)
    assert isinstance(resolved, Settings)
    Figures.add("configuration.hypothesis_environments", 1)


GARBAGE_ENV = {var: "\u2603 garbage \u00ff" for names in ENV_VARS.values() for var in names}


@pytest.mark.parametrize(
    "code",
    [
        "import llmtrace",
        "import llmtrace\n"
        "@llmtrace.trace\n"
        "def f(x):\n"
        "    return x\n"
        "assert f(3) == 3\n"
        "with llmtrace.span('s') as s:\n"
        "    s.set_output({'a': 1})\n",
        "import llmtrace\nh = llmtrace.init(instrument=False)\nassert h is not None\n"
        "llmtrace.shutdown()\n",
    ],
    ids=["import", "use-before-init", "init"],
)
def test_garbage_in_every_variable_never_crashes_import_or_init(code: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMTRACE_"))}
    env.update(GARBAGE_ENV)
    env["OTEL_EXPORTER_OTLP_HEADERS"] = "Authorization=Basic " + SECRET + ",broken"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,  # a garbage spool directory is made relative to the working directory
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr + result.stdout
