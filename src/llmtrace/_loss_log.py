"""Counting lost spans and logging each burst of losses twice, never once per span.

    drops = LossLog("llmtrace: lost %d span(s)%s", "llmtrace: %d lost in the burst (%d in total)")
    drops.add(1, " (queue full)")   # the first loss of a burst logs ``started``
    drops.end()                     # the burst is over: logs ``ended`` with its count
    drops.total                     # every span counted so far

The export processor keeps one for dropped spans and one for failed exports.
"""

from __future__ import annotations

import logging
import threading
import time

from ._errors import logger

_REMINDER_INTERVAL_S = 60.0


class LossLog:
    """Counts lost spans and logs a burst of losses twice: when it starts and when it ends.

    While a burst lasts longer than a minute, a reminder with the running count
    is logged once a minute. Thread-safe; the log calls happen outside the lock.
    """

    def __init__(self, started: str, ended: str, ended_level: int = logging.INFO) -> None:
        self._started = started
        self._ended = ended
        self._ended_level = ended_level
        self._lock = threading.Lock()
        self.total = 0
        self.in_burst = False
        self._burst = 0
        self._last_report = 0.0

    def add(self, count: int, detail: object = "", exc: BaseException | None = None) -> None:
        with self._lock:
            self.total += count
            self._burst += count
            now = time.monotonic()
            if self.in_burst and now - self._last_report < _REMINDER_INTERVAL_S:
                return
            first = not self.in_burst
            self.in_burst, self._last_report = True, now
            burst, total = self._burst, self.total
        if first:
            logger.warning(self._started, count, detail, exc_info=exc)
        else:
            logger.warning(
                "llmtrace: still losing spans: %d so far in this burst (%d in total)", burst, total
            )

    def count(self, count: int) -> None:
        """Add to the total without logging (the caller logs something more specific)."""
        with self._lock:
            self.total += count

    def end(self) -> None:
        with self._lock:
            if not self.in_burst:
                return
            burst, total = self._burst, self.total
            self._burst = 0
        logger.log(self._ended_level, self._ended, burst, total)
        # Only now: whoever sees the burst over (a force_flush) finds its summary logged.
        with self._lock:
            self.in_burst = False

    def reset(self) -> None:
        """Forget everything (in a forked child: the parent's losses are not the child's)."""
        self._lock = threading.Lock()
        self.total, self.in_burst, self._burst, self._last_report = 0, False, 0, 0.0
