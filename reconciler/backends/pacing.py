"""Paces the calls a request quota counts, per (project, region), so apply never exceeds it.

Vertex AI's request quotas are per minute, per region, per project (core/quotas.py). A
token bucket per
(project, region) holds a burst of the per-minute figure and refills it evenly over a
minute, so no minute ever sees more submissions than the quota allows.

A small bucket rather than a library: pyrate-limiter, the well-kept one, waits on its own
clock and sleeps by itself, where tuneops must be driven by an injected clock in tests (no
sleeps) and share one bucket between apply's threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.core.quotas import SUBMISSIONS_PER_MINUTE


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class Pacer:
    """Waits before each submission until (project, region)'s bucket holds a token."""

    per_minute: int = SUBMISSIONS_PER_MINUTE
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.per_minute < 1:
            raise ValueError(f"per_minute must be at least 1, got {self.per_minute}")

    def wait(self, project: str, region: str) -> None:
        """Returns once a submission in `region` of `project` is within the rate."""
        while (delay := self._take(project, region)) > 0:
            self.sleep(delay)

    def _take(self, project: str, region: str) -> float:
        """Takes a token (0.0), or says how long until one is due."""
        with self._lock:
            now = self.clock()
            bucket = self._buckets.setdefault((project, region), _Bucket(self.per_minute, now))
            rate = self.per_minute / 60.0
            bucket.tokens = min(self.per_minute, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / rate
