"""PURE: a job's runs as the planner reads them: twins set apart, the run that decides, the
next attempt, and which new names are renames of names that left git."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reconciler.core.desired import DesiredJob
from reconciler.core.identity import age
from reconciler.core.observed import JobState, ObservedJob, ObservedModel
from reconciler.core.resources import location_of
from reconciler.plan.actions import Leftover


@dataclass(frozen=True)
class Runs:
    """The runs of one name, oldest first, with each younger twin set apart: a second run
    of the same name, fingerprint and attempt is a launch that happened twice."""

    kept: tuple[ObservedJob, ...]
    twins: tuple[ObservedJob, ...] = ()

    @classmethod
    def of(cls, jobs: Iterable[ObservedJob]) -> Runs:
        kept: list[ObservedJob] = []
        twins: list[ObservedJob] = []
        seen: set[tuple[str, str, int]] = set()
        for job in sorted(jobs, key=age):
            identity = (job.label_name, job.fingerprint, job.attempt)
            (twins if identity in seen else kept).append(job)
            seen.add(identity)
        return cls(tuple(kept), tuple(twins))

    def __bool__(self) -> bool:
        return bool(self.kept)

    @property
    def all(self) -> tuple[ObservedJob, ...]:
        return tuple(sorted((*self.kept, *self.twins), key=age))

    def of_fingerprint(self, fingerprint: str) -> list[ObservedJob]:
        return [job for job in self.kept if job.fingerprint == fingerprint]

    def stops(self, job: DesiredJob, cancel_superseded: bool,
              promoted: frozenset[str] = frozenset()) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(superseded, twins): the runs to cancel, superseded ones only when asked; never
        a run a channel points to (an application resolves to it)."""
        superseded = tuple(run.resource for run in self.kept
                           if run.state.active and run.fingerprint != job.fingerprint
                           and run.resource not in promoted)
        twins = tuple(run.resource for run in self.twins
                      if run.state.active and run.resource not in promoted)
        return (superseded if cancel_superseded else ()), twins


def decisive(runs: Sequence[ObservedJob]) -> ObservedJob:
    """The run that decides a fingerprint's fate: a pending or running one, else a success,
    else one still cancelling (it may yet end either way), else the last."""
    active = [job for job in runs if job.state.active]
    succeeded = [job for job in runs if job.state == JobState.SUCCEEDED]
    cancelling = [job for job in runs if job.state == JobState.CANCELLING]
    return (active or succeeded or cancelling or list(runs))[-1]


def next_attempts(jobs: Iterable[ObservedJob]) -> Mapping[tuple[str, str], int]:
    """The next unused attempt for each (name, fingerprint) runs were launched under: a run
    renamed away keeps its labels, so a later launch under the old name must not take its
    attempt (its key would then find the renamed run)."""
    highest: dict[tuple[str, str], int] = defaultdict(int)
    for job in jobs:
        key = (job.label_name, job.fingerprint)
        highest[key] = max(highest[key], job.attempt)
    return {key: attempt + 1 for key, attempt in highest.items()}


def _tuned(job: DesiredJob, runs: Runs) -> bool:
    return any(run.fingerprint == job.fingerprint and run.kind == job.kind
               and location_of(run.resource) == job.location and run.state == JobState.SUCCEEDED
               for run in runs.kept)


def rename_candidates(desired: Sequence[DesiredJob], history: Mapping[str, Runs]
                      ) -> dict[str, list[str]]:
    """For each name new in git (no runs), the names that left git whose succeeded run has
    exactly its fingerprint, kind and location (the project is the one observed)."""
    names = {job.name for job in desired}
    gone = {name: runs for name, runs in history.items() if name not in names and runs}
    return {job.name: sorted(name for name, runs in gone.items() if _tuned(job, runs))
            for job in desired if not history.get(job.name)}


def renames(candidates: Mapping[str, list[str]]) -> dict[str, str]:
    """New name -> old name, where the match is one to one: with several old names, or
    several new names wanting one, nothing is renamed and each new name launches."""
    wanted = Counter(old for olds in candidates.values() for old in olds)
    return {new: olds[0] for new, olds in candidates.items()
            if len(olds) == 1 and wanted[olds[0]] == 1}


def copy_of(job: DesiredJob, history: Mapping[str, Runs], names: set[str]) -> list[str]:
    """Names still in git whose succeeded run has this job's fingerprint: it is a copy."""
    return sorted(name for name, runs in history.items()
                  if name in names and name != job.name and _tuned(job, runs))


def _run_of(model: ObservedModel, runs: Runs) -> ObservedJob | None:
    """The run that made a Model: of its fingerprint and attempt (when its labels say the
    attempt; else the only run of its fingerprint)."""
    found = [run for run in runs.all if run.fingerprint == model.fingerprint
             and model.attempt in (run.attempt, 0)]
    return found[0] if len(found) == 1 else None


def _why_left(run: ObservedJob, fingerprint: str, twins: set[str]) -> str:
    if run.resource in twins:
        return f"its run {run.job_id} is a twin (the same run launched twice)"
    if run.state in (JobState.FAILED, JobState.CANCELLED):
        return f"its run {run.job_id} {run.state}"
    if run.state == JobState.SUCCEEDED and run.cancelled_by_tuneops and (
            run.fingerprint != fingerprint):
        return (f"its run {run.job_id} completed although tuneops cancelled it "
                f"({run.cancelled_by_tuneops})")
    return ""


def leftovers(job: DesiredJob, runs: Runs, models: Iterable[ObservedModel],
              promoted: frozenset[str] = frozenset()) -> tuple[Leftover, ...]:
    """The Models of a job's name that are no run's result: left by a run that failed or
    was cancelled (a cancelled run may leave its checkpoints), by a superseded run that
    completed although tuneops cancelled it, or by a twin. Never a run a channel points
    to: an application resolves to it."""
    twins = {run.resource for run in runs.twins}
    found = []
    for model in models:
        run = _run_of(model, runs)
        why = "" if run is None else _why_left(run, job.fingerprint, twins)
        if run is not None and why and run.resource not in promoted:
            found.append(Leftover(model.resource, run.resource, why))
    return tuple(sorted(found, key=lambda left: left.model))
