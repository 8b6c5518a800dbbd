"""PURE: what a branch changes relative to its base, job by job (the pull request's view)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from reconciler.core.desired import Dataset, Desired, DesiredJob, Role
from reconciler.errors import Problem
from reconciler.kinds import kind_of
from reconciler.plan import diff
from reconciler.plan.actions import Change
from reconciler.plan.datadiff import ExampleDiff

BranchKind = Literal["added", "removed", "retune", "update"]
BRANCH_WORDS = {"added": "added", "removed": "removed", "retune": "re-tune", "update": "update"}
# The examples of a dataset at the base and at the head, compared (None: not comparable,
# such as a gs:// object).
ExampleDiffer = Callable[[DesiredJob, Dataset, DesiredJob, Dataset], ExampleDiff | None]


@dataclass(frozen=True)
class DatasetChange:
    """A dataset of a job whose content the branch changes."""

    role: Role
    path: str
    examples_before: int | None
    examples_after: int | None
    tokens_before: int | None
    tokens_after: int | None
    examples: ExampleDiff | None = None


@dataclass(frozen=True)
class BranchChange:
    name: str
    change: BranchKind
    changes: tuple[Change, ...] = ()
    datasets: tuple[DatasetChange, ...] = ()
    # What one launch costs at list price, at the base and at the head (None: not known).
    cost_before: float | None = None
    cost_after: float | None = None


@dataclass(frozen=True)
class Branch:
    base_ref: str
    changes: tuple[BranchChange, ...]
    # Warnings about jobs the branch does not change: a reviewer sees them collapsed.
    untouched: tuple[Problem, ...] = ()


def _cost(job: DesiredJob, desired: Desired) -> float | None:
    return kind_of(job.kind).estimate(job, desired.prices).dollars


def _datasets(old: DesiredJob, new: DesiredJob, differ: ExampleDiffer | None
              ) -> tuple[DatasetChange, ...]:
    found = []
    for after in new.datasets:
        before = old.dataset(after.role)
        if before is not None and before.content_hash == after.content_hash:
            continue
        examples = (differ(old, before, new, after)
                    if differ is not None and before is not None else None)
        found.append(DatasetChange(
            role=after.role, path=after.path or after.uri,
            examples_before=before.examples if before else None,
            examples_after=after.examples,
            tokens_before=before.tokens if before else None, tokens_after=after.tokens,
            examples=examples))
    return tuple(found)


def branch_changes(base: Desired, head: Desired, differ: ExampleDiffer | None = None
                   ) -> tuple[BranchChange, ...]:
    before = {job.name: job for job in base.jobs}
    after = {job.name: job for job in head.jobs}
    found: list[BranchChange] = []
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            found.append(BranchChange(name, "added", cost_after=_cost(after[name], head)))
        elif name not in after:
            found.append(BranchChange(name, "removed"))
        else:
            old, new = before[name], after[name]
            changes = diff.changes(old.inputs, old.metadata, new.inputs, new.metadata)
            if old.fingerprint != new.fingerprint:
                found.append(BranchChange(name, "retune", changes,
                                          datasets=_datasets(old, new, differ),
                                          cost_before=_cost(old, base),
                                          cost_after=_cost(new, head)))
            elif changes:
                found.append(BranchChange(name, "update", changes))
    return tuple(found)


def untouched_warnings(warnings: tuple[Problem, ...], head: Desired,
                       changes: tuple[BranchChange, ...]) -> tuple[Problem, ...]:
    """The warnings that concern only jobs the branch leaves as they were: those naming
    such a job, or a dataset only such jobs use. Any other warning concerns the branch."""
    changed = {change.name for change in changes}
    names = {job.name for job in head.jobs}
    users: dict[str, set[str]] = defaultdict(set)
    for job in head.jobs:
        for dataset in job.datasets:
            if dataset.path is not None:
                users[dataset.path].add(job.name)
    untouched = []
    for warning in warnings:
        about = {warning.subject} if warning.subject in names else users.get(
            warning.location.path, set())
        if about and not about & changed:
            untouched.append(warning)
    return tuple(untouched)


def describe(changes: tuple[BranchChange, ...], base_ref: str) -> str:
    """One line, e.g. "this branch changes 2 jobs relative to main: 1 re-tune, 1 update"."""
    if not changes:
        return f"this branch changes no job relative to {base_ref}"
    counts: Counter[str] = Counter(change.change for change in changes)
    parts = ", ".join(f"{counts[kind]} {word}" for kind, word in BRANCH_WORDS.items()
                      if counts[kind])
    noun = "job" if len(changes) == 1 else "jobs"
    return f"this branch changes {len(changes)} {noun} relative to {base_ref}: {parts}"
