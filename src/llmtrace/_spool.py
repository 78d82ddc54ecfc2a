"""An on-disk spool for spans the collector could not take: opt-in, bounded, crash-safe.

    spool = Spool("/var/spool/myapp-traces", max_bytes=64 * 1024 * 1024)
    spool.put(batch)                      # a batch the exporter gave up on
    spool.replay(exporter.export)         # later: send what is there, oldest first

``init(spool_dir=...)`` (or ``LLMTRACE_SPOOL_DIR``) gives the export processor one.
Spans whose export failed, and spans still queued when the process stops while the
collector is down, are written here instead of being lost; they are sent when an
export succeeds again, and by the next start of the app.

- **Format**: one file per batch, an OTLP ``ExportTraceServiceRequest`` (protobuf),
  the same bytes an OTLP/HTTP exporter posts. The name carries the time, the
  process, a sequence number and the span count: ``<ns>-<pid>-<seq>-<n>.otlp``.
- **Crash-safe**: a file is written under a temporary name, flushed to disk, then
  renamed into place (atomic), so a crash leaves either the whole batch or nothing.
- **Bounded**: above ``max_bytes`` the oldest files are deleted, and their spans
  counted as dropped and logged once per burst by the caller.
- **Once**: a file is claimed by renaming it (atomic, so two processes sharing the
  directory never both send it), sent, and deleted when the collector accepted it.
  The one gap: a process killed between the collector's answer and the deletion
  sends that batch again at its next start.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from ._errors import ConfigurationError, Failed, attempt, logger

_SUFFIX = ".otlp"
_CLAIM = ".claim"
_TMP_PREFIX = ".tmp-"
_STALE_S = 60.0  # a claim or temporary file this old belongs to a process that died


def open_spool(settings: Any) -> Spool | None:
    """The spool ``init()`` asked for (``spool_dir``), or None.

    A directory that cannot be created or written fails ``init()`` when it was an
    argument, and is warned about (no spool) when it came from LLMTRACE_SPOOL_DIR.
    """
    directory = settings.spool_dir
    if directory is None:
        return None
    try:
        spool = Spool(directory, settings.spool_max_bytes)
        probe = spool.directory / f"{_TMP_PREFIX}probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        problem = f"cannot use {directory!r} as the spool directory ({exc.strerror or exc})"
        if directory != os.environ.get("LLMTRACE_SPOOL_DIR"):
            raise ConfigurationError(f"llmtrace.init(spool_dir=...): {problem}") from None
        logger.warning("llmtrace: ignoring LLMTRACE_SPOOL_DIR: %s; spans are not spooled", problem)
        return None
    return spool


class Spool:
    """A directory of OTLP batches waiting for the collector (see module docstring)."""

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max(1, max_bytes)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._seq = 0
        self._recover()

    def after_fork(self) -> None:
        """In a forked child: a lock the parent's threads cannot be holding."""
        self._lock = threading.Lock()

    # -- writing -------------------------------------------------------------------------
    def put(self, batch: Sequence[ReadableSpan]) -> int:
        """Write ``batch`` as one file; returns the spans dropped to stay within the cap."""
        if not batch:
            return 0
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        data = encode_spans(batch).SerializeToString()
        with self._lock:
            self._seq += 1
            name = f"{time.time_ns():020d}-{os.getpid()}-{self._seq:06d}-{len(batch)}{_SUFFIX}"
        _write_atomically(self.directory / name, data)
        return self._enforce_cap()

    def _enforce_cap(self) -> int:
        files = self._files()
        total = sum(size for _, size in files)
        dropped = 0
        for path, size in files:  # oldest first
            if total <= self.max_bytes:
                break
            try:
                path.unlink()
            except OSError:
                continue  # claimed or removed by another process meanwhile
            total -= size
            dropped += _span_count(path)
        return dropped

    # -- reading -------------------------------------------------------------------------
    def pending(self) -> bool:
        """Whether any batch is waiting (cheap: one directory listing)."""
        try:
            return any(entry.name.endswith(_SUFFIX) for entry in os.scandir(self.directory))
        except OSError:
            return False

    def replay(self, export: Callable[[Sequence[ReadableSpan]], Any]) -> tuple[int, bool]:
        """Send waiting batches, oldest first, until one fails.

        Returns the spans sent and whether the spool was emptied. A batch that
        cannot be decoded (not written by us) is moved aside as ``.bad``.
        """
        sent = 0
        for path, _ in self._files():
            claimed = path.with_name(path.name + f".{os.getpid()}{_CLAIM}")
            try:
                path.rename(claimed)
            except OSError:
                continue  # another process took it
            spans = attempt(_read_batch, claimed)  # a foreign or damaged file: moved aside
            if isinstance(spans, Failed):
                logger.warning("llmtrace: spool file %s cannot be read; moved aside", path.name)
                _rename_quietly(claimed, path.with_name(path.name + ".bad"))
                continue
            result = attempt(export, spans)  # raising: the collector is down
            if result is not SpanExportResult.SUCCESS:
                _rename_quietly(claimed, path)
                return sent, False
            claimed.unlink(missing_ok=True)
            sent += len(spans)
        return sent, not self.pending()

    def _files(self) -> list[tuple[Path, int]]:
        found = []
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return []
        for entry in entries:
            if entry.name.endswith(_SUFFIX):
                try:
                    found.append((Path(entry.path), entry.stat().st_size))
                except OSError:
                    continue
        found.sort(key=lambda item: item[0].name)
        return found

    def _recover(self) -> None:
        """At start: put back batches claimed by a process that died, drop half-written files."""
        now = time.time()
        for entry in os.scandir(self.directory):
            try:
                old = now - entry.stat().st_mtime > _STALE_S
            except OSError:
                continue
            if entry.name.startswith(_TMP_PREFIX) and old:
                Path(entry.path).unlink(missing_ok=True)
            elif entry.name.endswith(_CLAIM) and (old or not _alive(_claim_pid(entry.name))):
                original = entry.name[: entry.name.rindex(_SUFFIX) + len(_SUFFIX)]
                _rename_quietly(Path(entry.path), self.directory / original)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{_TMP_PREFIX}{path.name}")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _rename_quietly(source: Path, target: Path) -> None:
    try:
        source.rename(target)
    except OSError:
        logger.debug("llmtrace: could not rename spool file %s", source.name)


def _span_count(path: Path) -> int:
    try:
        return int(path.name[: -len(_SUFFIX)].rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def _claim_pid(name: str) -> int:
    try:
        return int(name[: -len(_CLAIM)].rsplit(".", 1)[1])
    except (IndexError, ValueError):
        return -1


def _alive(pid: int) -> bool:
    # Our own pid at start-up is a previous run's (containers reuse pid 1): not alive.
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


# -- OTLP protobuf back to spans the exporters take ---------------------------------------------


def decode(data: bytes) -> list[ReadableSpan]:
    """The spans of one spooled ``ExportTraceServiceRequest``, as SDK ``ReadableSpan``s."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    request = ExportTraceServiceRequest.FromString(data)
    spans: list[ReadableSpan] = []
    for resource_spans in request.resource_spans:
        resource = Resource(_attributes(resource_spans.resource.attributes))
        for scope_spans in resource_spans.scope_spans:
            scope = InstrumentationScope(
                scope_spans.scope.name,
                scope_spans.scope.version or None,
                scope_spans.schema_url or None,
                _attributes(scope_spans.scope.attributes) or None,
            )
            spans.extend(_span(span, resource, scope) for span in scope_spans.spans)
    return spans


def _span(span: Any, resource: Any, scope: Any) -> ReadableSpan:
    from opentelemetry.trace import Link, SpanKind, Status, StatusCode

    trace_id = int.from_bytes(span.trace_id, "big")
    parent = None
    if span.parent_span_id:
        parent = _context(trace_id, span.parent_span_id, span.flags, "")
    return ReadableSpan(
        name=span.name,
        context=_context(trace_id, span.span_id, 0, span.trace_state),
        parent=parent,
        resource=resource,
        attributes=_attributes(span.attributes),
        events=[
            Event(event.name, _attributes(event.attributes), event.time_unix_nano)
            for event in span.events
        ],
        links=[
            Link(
                _context(
                    int.from_bytes(link.trace_id, "big"),
                    link.span_id,
                    link.flags,
                    link.trace_state,
                ),
                _attributes(link.attributes),
            )
            for link in span.links
        ],
        kind=SpanKind(max(0, span.kind - 1)),  # OTLP counts from UNSPECIFIED = 0
        status=Status(StatusCode(span.status.code), span.status.message or None),
        start_time=span.start_time_unix_nano,
        end_time=span.end_time_unix_nano,
        instrumentation_scope=scope,
    )


def _context(trace_id: int, span_id: bytes, flags: int, trace_state: str) -> Any:
    from opentelemetry.trace import SpanContext, TraceFlags, TraceState

    return SpanContext(
        trace_id=trace_id,
        span_id=int.from_bytes(span_id, "big"),
        is_remote=bool(flags & 0x200),  # SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState.from_header([trace_state]) if trace_state else None,
    )


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


def _value(value: Any) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return tuple(_value(item) for item in value.array_value.values)
    if which is None:
        return None
    if which == "kvlist_value":
        return str(value.kvlist_value)
    return getattr(value, which)


def _read_batch(path: Path) -> list[ReadableSpan]:
    return decode(path.read_bytes())
