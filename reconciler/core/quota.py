"""PURE: concurrent jobs per quota slot, as `limits:` counts them.

A slot is (where, kind of job): `where` is the location the run tunes in, or `global` for a
kind whose quota is one number per project, shared across regions (the kind says which).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from reconciler.core.observed import ObservedJob

Slot = tuple[str, str]
# The `limits:` key of a kind whose quota is one per project.
GLOBAL = "global"


def slot(location: str, kind: str, *, project_wide: bool) -> Slot:
    return (GLOBAL if project_wide else location, kind)


def running(jobs: Iterable[ObservedJob], slot_of: Callable[[ObservedJob], Slot]
            ) -> Counter[Slot]:
    """Jobs not ended (queued, pending, running or still cancelling), by their slot."""
    return Counter(slot_of(job) for job in jobs if job.state.unfinished)


def limit_of(limits: Mapping[str, Mapping[str, int]], slot: Slot) -> int | None:
    return limits.get(slot[0], {}).get(slot[1])
