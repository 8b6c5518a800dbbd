"""PURE: concurrent jobs per (location, kind of job), as `limits:` counts them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from reconciler.core.observed import ObservedJob
from reconciler.core.resources import location_of

Slot = tuple[str, str]


def running(jobs: Iterable[ObservedJob]) -> Counter[Slot]:
    """Jobs not ended (pending, running or still cancelling), by the location they run in
    and their kind."""
    return Counter((location_of(job.resource), job.kind) for job in jobs
                   if job.state.unfinished)


def limit_of(limits: Mapping[str, Mapping[str, int]], slot: Slot) -> int | None:
    return limits.get(slot[0], {}).get(slot[1])
