"""`apply --wait`: poll launched jobs until each reaches a terminal state or time runs out."""

from __future__ import annotations

import threading
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
           sleep: Callable[[float], object] | None = None,
           stop: threading.Event | None = None) -> dict[str, ObservedJob]:
    """The last observed state of each job; raises when the deadline passes first.

    When `stop` is set (a signal), it returns at once with what it saw last: the jobs go on
    in Vertex AI whether anyone follows them or not.
    """
    deadline = clock() + timeout
    latest: dict[str, ObservedJob] = {}
    stop = stop or threading.Event()
    sleep = sleep or stop.wait  # a signal cuts the pause short
    while True:
        for job in jobs:
            if job.name not in latest or latest[job.name].state not in TERMINAL:
                latest[job.name] = backend.get(job.resource)
        on_poll(latest)
        if stop.is_set() or all(observed.state in TERMINAL for observed in latest.values()):
            return latest
        if clock() >= deadline:
            waiting = ", ".join(sorted(n for n, o in latest.items() if o.state not in TERMINAL))
            raise TuneopsError(f"timed out after {timeout:g}s waiting for {waiting}; the jobs "
                               "keep running, and `reconcile status` follows them")
        sleep(min(interval, max(0.0, deadline - clock())))
        if stop.is_set():
            return latest
