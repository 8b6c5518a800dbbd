"""`apply --wait`: poll launched jobs until each reaches a terminal state or time runs out."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reconciler.backends.base import Backend
from reconciler.core.observed import JobState, ObservedJob
from reconciler.errors import TuneopsError

TERMINAL = (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class Followed:
    name: str
    resource: str


def follow(backend: Backend, jobs: Sequence[Followed], *, timeout: float, interval: float,
           on_poll: Callable[[dict[str, ObservedJob]], None],
           clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep) -> dict[str, ObservedJob]:
    """The last observed state of each job; raises when the deadline passes first."""
    deadline = clock() + timeout
    latest: dict[str, ObservedJob] = {}
    while True:
        for job in jobs:
            if job.name not in latest or latest[job.name].state not in TERMINAL:
                latest[job.name] = backend.get(job.resource)
        on_poll(latest)
        if all(observed.state in TERMINAL for observed in latest.values()):
            return latest
        if clock() >= deadline:
            waiting = ", ".join(sorted(n for n, o in latest.items() if o.state not in TERMINAL))
            raise TuneopsError(f"timed out after {timeout:g}s waiting for {waiting}; the jobs "
                               "keep running, and `reconcile status` follows them")
        sleep(min(interval, max(0.0, deadline - clock())))
