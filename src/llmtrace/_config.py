"""llmtrace settings: ``init()`` arguments > environment variables > defaults.

Every setting, its environment variable and its default is listed in
``docs/configuration.md``. A bad *argument* fails ``init()`` with a
``ConfigurationError`` naming the setting and what is allowed; a malformed
*environment variable* is logged as a warning and its default is used, as the
OpenTelemetry SDK does, so a typo in a deployment never crashes the app.

This module imports pydantic; only ``init()`` imports it, never ``import llmtrace``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import unquote

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from ._errors import ConfigurationError

logger = logging.getLogger("llmtrace")

Protocol = Literal["grpc", "http/protobuf"]
ExporterName = Literal["otlp", "console", "none"]
# Instrumentation name -> the library it instruments (it is skipped when that is not
# importable). Its instrumentor is the ``opentelemetry_instrumentor`` entry point
# ``llmtrace_<name>`` (pyproject.toml): a new provider adds a row here and an entry point.
INSTRUMENTATIONS: dict[str, str] = {
    "openai": "openai",
    "langchain": "langchain_core",
    "bedrock": "botocore",
    "anthropic": "anthropic",
    "google_genai": "google.genai",
    "litellm": "litellm",
    "openai_agents": "agents",
    "mcp": "mcp",
}
KNOWN_INSTRUMENTATIONS = tuple(INSTRUMENTATIONS)
METRIC_EXPORTERS = ("otlp", "prometheus")
_SECRET_SETTINGS = frozenset({"headers"})
_PROVIDER_METHODS = {
    "tracer_provider": ("get_tracer", "TracerProvider"),
    "meter_provider": ("get_meter", "MeterProvider"),
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class Settings(BaseModel):
    """The validated settings ``init()`` runs with."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid", frozen=True)

    service_name: str | None = None
    resource_attributes: dict[str, str] = Field(default_factory=dict)
    endpoint: str | None = None
    protocol: Protocol = "http/protobuf"
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    # "otlp" | "console" | "none" | SpanExporter, or several of them; None: by endpoint
    exporter: Any = None
    console: bool | None = None
    capture_content: bool = False
    max_attribute_bytes: int = Field(default=2048, ge=128, le=16 * 1024 * 1024)
    sample_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    instrument: tuple[str, ...] | None = None
    metrics: bool = True
    metrics_exporter: tuple[str, ...] | None = None  # None: OTLP when traces go over OTLP
    prometheus_host: str = "localhost"
    prometheus_port: int = Field(default=9464, ge=0, le=65535)
    export_timeout: float = Field(default=10.0, gt=0, le=600)
    max_queue_size: int = Field(default=2048, ge=1, le=10_000_000)
    # None: 5 s, longer while a reachable collector is still accepting (see _setup.py).
    shutdown_timeout: float | None = Field(default=None, gt=0, le=600)
    spool_dir: str | None = None
    spool_max_bytes: int = Field(default=64 * 1024 * 1024, ge=64 * 1024, le=1024**4)
    disabled: bool = False
    model_version: str | None = None
    prices: Any = None  # dict or path to a TOML/JSON price file (see pricing.py)
    prompt_interop: bool = False
    openai_usage_hosts: tuple[str, ...] = ()
    providers: dict[str, str] = Field(default_factory=dict)  # host -> provider name
    redact: Callable[[Any], Any] | None = None
    tracer_provider: Any = None
    meter_provider: Any = None

    @field_validator("exporter", mode="before")
    @classmethod
    def _check_exporter(cls, value: Any) -> Any:
        if isinstance(value, str) and "," in value:
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, (list, tuple)):
            # Several at once (e.g. Phoenix and MLflow): each gets its own queue and thread.
            items = tuple(_check_one_exporter(item) for item in value)
            if not items:
                raise ValueError("must name at least one exporter")
            return items[0] if len(items) == 1 else items
        return _check_one_exporter(value)

    @field_validator("instrument", mode="before")
    @classmethod
    def _check_instrument(cls, value: Any) -> Any:
        if value is None or value is True:
            return None
        if value is False:
            return ()
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
            if value == ["none"]:
                return ()
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise ValueError("must be True, False, a list of names or a comma-separated string")
        names = tuple(str(v).lower() for v in value)
        unknown = [n for n in names if n not in KNOWN_INSTRUMENTATIONS]
        if unknown:
            raise ValueError(
                f"unknown instrumentation {unknown[0]!r}; "
                f"choose from {', '.join(KNOWN_INSTRUMENTATIONS)}, True (all installed) or False"
            )
        return names

    @field_validator("metrics_exporter", mode="before")
    @classmethod
    def _check_metrics_exporter(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise ValueError("must be 'otlp', 'prometheus', 'none' or a list of them")
        names = tuple(dict.fromkeys(str(v).strip().lower() for v in value))
        if names == ("none",):
            return ()
        unknown = [n for n in names if n not in METRIC_EXPORTERS]
        if unknown:
            raise ValueError(
                f"unknown metrics exporter {unknown[0]!r}; choose from otlp, prometheus or none"
            )
        return names

    @field_validator("prometheus_host")
    @classmethod
    def _check_prometheus_host(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c.isspace() or c in "/?#" for c in value):
            raise ValueError("must be a host name or IP address to listen on, e.g. 0.0.0.0")
        return value

    @field_validator("endpoint")
    @classmethod
    def _check_endpoint(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be a URL starting with http:// or https://")
        return value

    @field_validator("headers")
    @classmethod
    def _lowercase_headers(cls, value: dict[str, str]) -> dict[str, str]:
        # gRPC metadata keys must be lowercase; HTTP header names are case-insensitive.
        return {key.lower(): val for key, val in value.items()}

    @field_validator("providers")
    @classmethod
    def _check_providers(cls, value: dict[str, str]) -> dict[str, str]:
        from ._genai import providers

        for host, name in value.items():
            if not host.strip():
                raise ValueError("a host must be a non-empty string")
            if providers.by_name(providers.by_alias(name)) is None:
                known = ", ".join(sorted(p.name for p in providers.PROVIDERS))
                raise ValueError(
                    f"unknown provider {name!r} for host {host!r}; choose from {known}"
                )
        return {host.strip().lower(): providers.by_alias(name) for host, name in value.items()}

    @field_validator("spool_dir", mode="before")
    @classmethod
    def _check_spool_dir(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, (str, os.PathLike)):
            raise ValueError("must be the path of a directory")
        return os.fspath(value)

    @field_validator("prices")
    @classmethod
    def _check_prices(cls, value: Any) -> Any:
        if value is None or isinstance(value, Mapping):
            return value
        if isinstance(value, (str, os.PathLike)):
            path = os.fspath(value)
            if not os.path.isfile(path):
                raise ValueError(f"price file not found: {path}")
            if not path.endswith((".toml", ".json")):
                raise ValueError("price file must be .toml or .json")
            return path
        raise ValueError("must be a dict of prices or the path of a TOML/JSON price file")

    @field_validator("tracer_provider", "meter_provider")
    @classmethod
    def _check_provider(cls, value: Any, info: ValidationInfo) -> Any:
        method, kind = _PROVIDER_METHODS[info.field_name or ""]
        if value is not None and not callable(getattr(value, method, None)):
            raise ValueError(f"must be an opentelemetry {kind}")
        return value

    @property
    def exporter_name(self) -> str:
        """The exporter in effect: explicit, else OTLP when an endpoint is set, else console."""
        if isinstance(self.exporter, str):
            return self.exporter
        if isinstance(self.exporter, tuple):
            return "several"
        if self.exporter is not None:
            return "custom"
        return "otlp" if self.endpoint else "console"

    @property
    def metric_exporters(self) -> tuple[str, ...]:
        """The metric exporters in effect: explicit, else OTLP when traces go over OTLP."""
        if self.metrics_exporter is not None:
            return self.metrics_exporter
        return ("otlp",) if "otlp" in self.exporters else ()

    @property
    def exporters(self) -> tuple[Any, ...]:
        """Every exporter in effect: names ("otlp", "console", "none") and SpanExporters."""
        if isinstance(self.exporter, tuple):
            return self.exporter
        name = self.exporter_name
        return (self.exporter,) if name == "custom" else (name,)

    @property
    def console_enabled(self) -> bool:
        if self.console is not None:
            return self.console
        return "console" in self.exporters


def _check_one_exporter(value: Any) -> Any:
    if value is None or value in ("otlp", "console", "none"):
        return value
    if callable(getattr(value, "export", None)) and callable(getattr(value, "shutdown", None)):
        return value
    raise ValueError("must be 'otlp', 'console', 'none' or a SpanExporter instance (or a list)")


# setting -> environment variables, first set wins (signal-specific before general).
ENV_VARS: dict[str, tuple[str, ...]] = {
    "service_name": ("OTEL_SERVICE_NAME",),
    "resource_attributes": ("OTEL_RESOURCE_ATTRIBUTES",),
    "endpoint": ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    "protocol": ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
    "headers": ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"),
    "exporter": ("LLMTRACE_EXPORTER",),
    "console": ("LLMTRACE_CONSOLE",),
    "capture_content": (
        "LLMTRACE_CAPTURE_CONTENT",
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
    ),
    "max_attribute_bytes": ("LLMTRACE_MAX_ATTRIBUTE_BYTES",),
    "sample_rate": ("LLMTRACE_SAMPLE_RATE",),
    "instrument": ("LLMTRACE_INSTRUMENT",),
    "metrics": ("LLMTRACE_METRICS",),
    "metrics_exporter": ("LLMTRACE_METRICS_EXPORTER", "OTEL_METRICS_EXPORTER"),
    "prometheus_host": ("LLMTRACE_PROMETHEUS_HOST", "OTEL_EXPORTER_PROMETHEUS_HOST"),
    "prometheus_port": ("LLMTRACE_PROMETHEUS_PORT", "OTEL_EXPORTER_PROMETHEUS_PORT"),
    "export_timeout": ("LLMTRACE_EXPORT_TIMEOUT",),
    "max_queue_size": ("LLMTRACE_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_QUEUE_SIZE"),
    "shutdown_timeout": ("LLMTRACE_SHUTDOWN_TIMEOUT",),
    "spool_dir": ("LLMTRACE_SPOOL_DIR",),
    "spool_max_bytes": ("LLMTRACE_SPOOL_MAX_BYTES",),
    "disabled": ("OTEL_SDK_DISABLED", "LLMTRACE_DISABLED"),
    "model_version": ("LLMTRACE_MODEL_VERSION",),
    "prices": ("LLMTRACE_PRICES_FILE",),
    "prompt_interop": ("LLMTRACE_PROMPT_INTEROP",),
    "openai_usage_hosts": ("LLMTRACE_OPENAI_USAGE_HOSTS",),
    "providers": ("LLMTRACE_PROVIDERS",),
}


def parse_key_value_list(raw: str) -> dict[str, str]:
    """Parse the W3C-style ``k1=v1,k2=v2`` format of OTEL_*_HEADERS and OTEL_RESOURCE_ATTRIBUTES."""
    result: dict[str, str] = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            # The text may be a secret (OTLP headers carry tokens): never echo it.
            raise ValueError("expected key=value pairs separated by commas")
        result[unquote(key.strip())] = unquote(value.strip())
    return result


# OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT also takes the modes of the
# official GenAI instrumentations; llmtrace writes content on spans only.
_CAPTURE_MODES = {
    "span_only": True,
    "span_and_event": True,
    "event_only": False,
    "no_content": False,
}


def parse_capture_mode(raw: str) -> bool:
    """true/false, or SPAN_ONLY / SPAN_AND_EVENT (on) / EVENT_ONLY / NO_CONTENT (off)."""
    mode = _CAPTURE_MODES.get(raw.strip().lower())
    return mode if mode is not None else _parse_bool(raw)


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _from_env(name: str, raw: str) -> Any:
    """Turn an environment string into the value a setting takes (raises ValueError)."""
    if name in ("headers", "resource_attributes", "providers"):
        return parse_key_value_list(raw)
    if name == "capture_content":
        return parse_capture_mode(raw)
    if name in ("console", "metrics", "disabled", "prompt_interop"):
        return _parse_bool(raw)
    if name == "openai_usage_hosts":
        return tuple(h.strip().lower() for h in raw.split(",") if h.strip())
    if name in ("exporter", "metrics_exporter"):
        return raw.strip().lower()
    if name == "protocol":
        return raw.strip().lower()
    return raw.strip()


def read_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings found in the environment; malformed values are warned about and skipped."""
    env = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for setting, names in ENV_VARS.items():
        for var in names:
            raw = env.get(var)
            if raw is None:
                continue
            try:
                found[setting] = _from_env(setting, raw)
            except ValueError as exc:
                _warn_env(var, raw, str(exc))
            break
    return found


def _warn_env(var: str, raw: str, problem: str) -> None:
    shown = "<hidden>" if "HEADERS" in var else repr(raw)
    logger.warning("llmtrace: ignoring %s=%s (%s); using the default", var, shown, problem)


def resolve_settings(
    arguments: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> Settings:
    """Merge arguments over the environment over defaults and validate the result."""
    given = {k: v for k, v in arguments.items() if v is not None}
    try:
        Settings.model_validate(given)
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc, source="argument")) from None
    from_env = read_environment(environ)
    merged = {**from_env, **given}
    while True:
        try:
            return Settings.model_validate(merged)
        except ValidationError as exc:
            bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
            env_bad = [name for name in bad if name in from_env and name not in given]
            if not env_bad:
                raise ConfigurationError(_describe(exc, source="argument")) from None
            for name in env_bad:
                var = next(v for v in ENV_VARS[name] if (environ or os.environ).get(v) is not None)
                _warn_env(var, str((environ or os.environ).get(var)), _first_message(exc, name))
                merged.pop(name)
                from_env.pop(name)


def _first_message(exc: ValidationError, name: str) -> str:
    for err in exc.errors():
        if err["loc"] and err["loc"][0] == name:
            return str(err["msg"])
    return "invalid value"


def _describe(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        name = ".".join(str(part) for part in err["loc"]) or "settings"
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["loc"] and err["loc"][0] in _SECRET_SETTINGS:
            lines.append(f"llmtrace.init({name}=...): {message}")
        else:
            lines.append(f"llmtrace.init({name}={err.get('input')!r}): {message}")
    return "invalid llmtrace configuration: " + "; ".join(lines)
