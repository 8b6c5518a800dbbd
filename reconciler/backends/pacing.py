"""Paces the calls a request quota counts, per (project, region), so apply never exceeds it.

Vertex AI's request quotas are per minute, per region, per project (core/quotas.py); how the
service counts a minute is undocumented. A sliding window is right under every way it could:
at most the per-minute figure in any 60 seconds, so a fixed minute, a sliding one and a
token bucket of that size all admit every submission. The token bucket this replaced let
a burst of the figure through and then refilled at the same rate, so the first 60 seconds
of a large apply could see twice the quota (the emulator's `--submissions-per-minute`
counts a sliding minute and refused them).

A small window rather than a library: pyrate-limiter, the well-kept one, waits on its own
clock and sleeps by itself, where tuneops must be driven by an injected clock in tests (no
sleeps) and share one window between apply's threads.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.core.quotas import SUBMISSIONS_PER_MINUTE

WINDOW_SECONDS = 60.0
# A submission is counted when the service receives it, after the network's delay, which
# may shrink the gap between two sent a minute apart.
MARGIN_SECONDS = 1.0


@dataclass
class Pacer:
    """Waits before each submission until (project, region) made fewer than `per_minute`
    in the last minute."""

    per_minute: int = SUBMISSIONS_PER_MINUTE
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    # The times of the last `per_minute` submissions of each (project, region).
    _sent: dict[tuple[str, str], deque[float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, got {self.per_minute}")

    def wait(self, project: str, region: str) -> None:
        """Returns once a submission in `region` of `project` is within the rate."""
        while (delay := self._take(project, region)) > 0:
            self.sleep(delay)

    def _take(self, project: str, region: str) -> float:
        """Counts a submission now (0.0), or says how long until one is due."""
        with self._lock:
            now = self.clock()
            sent = self._sent.setdefault((project, region), deque(maxlen=self.per_minute))
            if len(sent) == self.per_minute:
                due = sent[0] + WINDOW_SECONDS + MARGIN_SECONDS
                if now < due:
                    return due - now
            sent.append(now)  # the oldest drops out of a full window
            return 0.0
