"""PURE: what a branch changes relative to its base, job by job (the pull request's view)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from reconciler.core.desired import Desired
from reconciler.plan import diff
from reconciler.plan.actions import Change

BranchKind = Literal["added", "removed", "retune", "update"]
BRANCH_WORDS = {"added": "added", "removed": "removed", "retune": "re-tune", "update": "update"}


@dataclass(frozen=True)
class BranchChange:
    name: str
    change: BranchKind
    changes: tuple[Change, ...] = ()


def branch_changes(base: Desired, head: Desired) -> tuple[BranchChange, ...]:
    before = {job.name: job for job in base.jobs}
    after = {job.name: job for job in head.jobs}
    found: list[BranchChange] = []
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            found.append(BranchChange(name, "added"))
        elif name not in after:
            found.append(BranchChange(name, "removed"))
        else:
            old, new = before[name], after[name]
            changes = diff.changes(old.inputs, old.metadata, new.inputs, new.metadata)
            if old.fingerprint != new.fingerprint:
                found.append(BranchChange(name, "retune", changes))
            elif changes:
                found.append(BranchChange(name, "update", changes))
    return tuple(found)


def describe(changes: tuple[BranchChange, ...], base_ref: str) -> str:
    """One line, e.g. "this branch changes 2 jobs relative to main: 1 re-tune, 1 update"."""
    if not changes:
        return f"this branch changes no job relative to {base_ref}"
    counts: Counter[str] = Counter(change.change for change in changes)
    parts = ", ".join(f"{counts[kind]} {word}" for kind, word in BRANCH_WORDS.items()
                      if counts[kind])
    noun = "job" if len(changes) == 1 else "jobs"
    return f"this branch changes {len(changes)} {noun} relative to {base_ref}: {parts}"
