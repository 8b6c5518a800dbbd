"""PURE: (desired, observed) -> Plan. No I/O at all; every decision of tuneops is made here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from reconciler.core import quota
from reconciler.core.budget import over_budget
from reconciler.core.desired import Desired, DesiredJob
from reconciler.core.estimate import Estimate, Totals, tokens_text, totals
from reconciler.core.fingerprint import digest
from reconciler.core.observed import JobState, Observed, ObservedJob, ObservedModel
from reconciler.errors import Problem
from reconciler.kinds import Launch, kind_of
from reconciler.plan import diff
from reconciler.plan.actions import (
    ACTION_KINDS,
    Action,
    Attribute,
    Change,
    Create,
    DriftRelaunch,
    Failed,
    Orphan,
    Queued,
    Refused,
    Rename,
    Retune,
    Running,
    Stopping,
    is_launch,
    launches_now,
    stops,
)
from reconciler.plan.models import model_action, model_view
from reconciler.plan.runs import (
    Runs,
    copy_of,
    decisive,
    next_attempts,
    rename_candidates,
    renames,
)

# 2: actions carry `job_id` (was `pipeline_job_id`), and launches their `kind`.
PLAN_FORMAT_VERSION = 2


@dataclass(frozen=True)
class PlanOptions:
    commit: str = ""
    retry_failed: bool = False
    # `--target NAME`: plan only these jobs (for exceptional use, as terraform's -target).
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    warnings: tuple[Problem, ...]
    desired_digest: str
    observed_digest: str
    # How it was asked for, so `apply PLANFILE` can plan the same again and compare.
    retry_failed: bool = False
    # The jobs it was limited to with --target (none: every job).
    targets: tuple[str, ...] = ()
    # Why its launches exceed `budget:` in configs/reconciler.yaml (apply then launches none).
    over_budget: tuple[str, ...] = ()
    # The repository files the plan was made from (settings, job files, local datasets).
    files: tuple[str, ...] = ()
    version: int = PLAN_FORMAT_VERSION

    @cached_property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for action in self.actions:
            counts[action.action] += 1
        return dict(counts)

    @property
    def launches(self) -> list[tuple[str, Estimate]]:
        return launch_estimates(self.actions)

    @cached_property
    def totals(self) -> Totals:
        return totals(estimate for _, estimate in self.launches)

    @property
    def has_changes(self) -> bool:
        """Whether applying it does anything: an action that changes, or a run to stop."""
        return any(ACTION_KINDS[action.action].changes or stops(action)
                   for action in self.actions)

    @property
    def needs_attention(self) -> bool:
        """Changes, or a failed run that only `apply --retry-failed` relaunches: what the
        daily drift check (`plan --detailed-exitcode`) must not pass over."""
        return self.has_changes or any(action.action == "failed" for action in self.actions)

    @cached_property
    def stopping(self) -> int:
        """How many runs applying it cancels (superseded runs and twins)."""
        return sum(len(stops(action)) for action in self.actions)


def launch_estimates(actions: Sequence[Action]) -> list[tuple[str, Estimate]]:
    """Each launching action's job name and what it will spend (queued ones included: the
    plan commits to them)."""
    return [(a.name, a.estimate or Estimate()) for a in actions if is_launch(a)]


def attributes(job: DesiredJob, launch: Launch) -> tuple[Attribute, ...]:
    """A create's `+` block, for any kind: its datasets with their examples, its weight
    inputs (None: the service's default), its Model's metadata, and the job's id where it
    is known before the run."""
    found = [Attribute("kind", job.kind)]
    for dataset in job.datasets:
        counted = [f"{dataset.examples:,} examples"] if dataset.examples is not None else []
        if dataset.tokens is not None:
            counted.append(f"≈ {tokens_text(dataset.tokens)} tokens")
        found.append(Attribute(f"{dataset.role}_dataset", dataset.path or dataset.uri,
                               ", ".join(counted)))
    # Dataset hashes are the datasets above, by content.
    found += [Attribute(key, value) for key, value in job.inputs.items()
              if key != "kind" and not key.endswith("dataset_hash")]
    found += [Attribute(key, value) for key, value in job.metadata.items()]
    found.append(Attribute("id", launch.known_id, unset="known after apply"))
    return tuple(found)


def _launch(job: DesiredJob, desired: Desired, options: PlanOptions, attempt: int) -> Launch:
    return kind_of(job.kind).launch(job, desired.target, options.commit, attempt)


@dataclass(frozen=True)
class _Context:
    """What deciding one job needs beside its own runs."""

    desired: Desired
    options: PlanOptions
    models: Mapping[tuple[str, str], Sequence[ObservedModel]]
    attempts: Mapping[tuple[str, str], int]
    history: Mapping[str, Runs]
    renames: Mapping[str, str]
    candidates: Mapping[str, Sequence[str]]

    def launch(self, job: DesiredJob) -> Launch:
        attempt = self.attempts.get((job.name, job.fingerprint), 1)
        return _launch(job, self.desired, self.options, attempt)

    def model(self, job: DesiredJob, decided: ObservedJob) -> ObservedModel | None:
        """The Model of the deciding run: the one of its attempt where several exist."""
        found = self.models.get((decided.name, job.fingerprint), ())
        return max(found, key=lambda m: (m.attempt == decided.attempt, m.attempt),
                   default=None)


def _create_reason(job: DesiredJob, context: _Context) -> str:
    names = {wanted.name for wanted in context.desired.jobs}
    copied = copy_of(job, context.history, names)
    if copied:
        return f"new job (a copy of {', '.join(copied)}: it launches its own run)"
    olds = context.candidates.get(job.name, ())
    if len(olds) > 1:
        return (f"new job ({', '.join(olds)} left configs with this fingerprint: not a "
                "rename, since more than one matches)")
    if olds:
        return (f"new job ({olds[0]} left configs with this fingerprint, but another new "
                "name matches it too: not a rename)")
    return "new job"


def _decided_action(job: DesiredJob, runs: Runs, context: _Context) -> Action:
    """The action of a job that has runs, before the runs it stops are added."""
    same = runs.of_fingerprint(job.fingerprint)
    if not same:
        latest = runs.kept[-1]
        found = diff.changes(latest.inputs, latest.metadata, job.inputs, job.metadata)
        forcing = ", ".join(c.field for c in found if c.forces_retune) or "fingerprint"
        launch = context.launch(job)
        return Retune(name=job.name, reason=f"changed: {forcing}", job_id=launch.job_id,
                      launch=launch, changes=found)
    decided = decisive(same)
    if decided.state.active:
        return Running(name=job.name, reason=f"job is {decided.state}",
                       job_id=decided.job_id, state=decided.state.value)
    if decided.state == JobState.CANCELLING:
        return Running(name=job.name, reason="job is cancelling; planned again once it ends "
                       "(a cancel is best effort)", job_id=decided.job_id,
                       state=decided.state.value)
    if decided.state == JobState.SUCCEEDED:
        model = context.model(job, decided)
        if model is not None:
            names = {job.name, *(run.label_name for run in same)}
            return model_action(job, decided, model, names)
        launch = context.launch(job)
        return DriftRelaunch(name=job.name, reason=f"the Model of {decided.job_id} was deleted "
                             "outside git; apply tunes again", job_id=launch.job_id,
                             launch=launch)
    if decided.state == JobState.CANCELLED and decided.cancelled_by_tuneops:
        launch = context.launch(job)
        return Retune(name=job.name, reason=f"relaunching: tuneops cancelled {decided.job_id} "
                      f"({decided.cancelled_by_tuneops}), which is not a failure",
                      job_id=launch.job_id, launch=launch)
    if context.options.retry_failed:
        launch = context.launch(job)
        return Retune(name=job.name, reason=f"retrying {decided.state} job {decided.job_id}",
                      job_id=launch.job_id, launch=launch)
    return Failed(name=job.name, reason=f"job {decided.state}; apply --retry-failed relaunches it",
                  job_id=decided.job_id, error=decided.error)


def _rename(job: DesiredJob, old: str, runs: Runs, context: _Context) -> Rename:
    decided = decisive([run for run in runs.kept if run.fingerprint == job.fingerprint
                        and run.state == JobState.SUCCEEDED])
    model = context.model(job, decided)
    view = None if model is None else model_view(job, decided, model, {job.name})
    return Rename(name=job.name, reason=f"renamed from {old}, no re-tune",
                  job_id=decided.job_id, renamed_from=old,
                  runs=tuple(run.resource for run in runs.all),
                  patch=None if view is None else view.patch,
                  changes=(Change("name", old, job.name, forces_retune=False),
                           *(() if view is None else view.found)))


def _job_action(job: DesiredJob, context: _Context) -> Action:
    old = context.renames.get(job.name)
    runs = context.history[old] if old else context.history.get(job.name)
    if not runs:
        launch = context.launch(job)
        return Create(name=job.name, reason=_create_reason(job, context),
                      job_id=launch.job_id, launch=launch, attributes=attributes(job, launch))
    action = _rename(job, old, runs, context) if old else _decided_action(job, runs, context)
    cancel, twins = runs.stops(job, context.desired.cancel_superseded)
    if (cancel or twins) and isinstance(action, Stopping):
        # Whatever else it does: a superseded run costs money, a twin is a duplicate launch.
        action = replace(action, cancel=cancel, twins=twins)
    return action


def _launchable(job: DesiredJob, action: Action, desired: Desired) -> Action:
    """A launch with what it will spend, or refused where its kind cannot be launched."""
    if not launches_now(action):
        return action
    kind = kind_of(job.kind)
    refusal = kind.refusal(desired.target)
    if refusal:
        return Refused(name=job.name, reason=f"{refusal} (it would {action.action}: "
                       f"{action.reason})", job_id=action.job_id, changes=action.changes)
    return replace(action, estimate=kind.estimate(job, desired.prices))


def _within_limits(actions: list[Action], desired: Desired, observed: Observed
                   ) -> list[Action]:
    """Launches past `limits:` (concurrent jobs per location and kind) wait as queued."""
    if not desired.limits:
        return actions
    running = quota.running(observed.jobs)
    kinds = {job.name: job.kind for job in desired.jobs}
    # Higher `priority:` first, then config order (a stable sort keeps it).
    priority = {job.name: -int(job.spec.priority) for job in desired.jobs}
    result: list[Action] = []
    for action in sorted(actions, key=lambda action: priority.get(action.name, 0)):
        if not launches_now(action):
            result.append(action)
            continue
        # A run being cancelled keeps its slot until it ends, as the service counts it.
        slot = (action.launch.location, kinds[action.name])
        limit = quota.limit_of(desired.limits, slot)
        if limit is None or running[slot] < limit:
            running[slot] += 1
            result.append(action)
            continue
        result.append(Queued.of(action, f"waits for quota: {running[slot]} of {limit} "
                                f"{slot[1]} job(s) running in {slot[0]} ({action.action}: "
                                f"{action.reason})"))
    return result


def _orphans(names: set[str], history: Mapping[str, Runs], observed: Observed
             ) -> list[Action]:
    """Names gone from configs (and not renamed) that still hold a Model or a running job.

    Finished jobs without a Model are history, kept in Vertex AI and no longer reported.
    """
    active = {name: [job.resource for job in runs.all if job.state.active]
              for name, runs in history.items() if name not in names}
    models: dict[str, list[str]] = defaultdict(list)
    for model in observed.models:
        if model.name not in names:
            models[model.name].append(model.resource)
    return [
        Orphan(name=name, reason="no longer in configs; apply --prune deletes its Models and "
               "cancels its running jobs",
               job_id=history[name].all[-1].job_id if name in history else None,
               jobs=tuple(sorted(active.get(name, ()))), models=tuple(sorted(models[name])),
               runs=tuple(sorted(job.resource for job in history[name].all
                                 if job.state == JobState.SUCCEEDED) if name in history else ()))
        for name in sorted({n for n, running in active.items() if running} | set(models))
    ]


def desired_digest(desired: Desired) -> str:
    return digest([desired.target.project, desired.target.staging_bucket,
                   desired.cancel_superseded, desired.prices, desired.budget.model_dump(),
                   desired.limits,
                   [[j.name, j.fingerprint, j.metadata] for j in desired.jobs]])


def observed_digest(observed: Observed) -> str:
    return digest([
        sorted([j.job_id, j.name, j.fingerprint, j.state.value, j.cancelled_by_tuneops]
               for j in observed.jobs),
        sorted([m.resource, m.name, m.display_name, m.description, m.labels]
               for m in observed.models),
    ])


def plan(desired: Desired, observed: Observed, options: PlanOptions | None = None) -> Plan:
    options = options or PlanOptions()
    by_name: dict[str, list[ObservedJob]] = defaultdict(list)
    for job in observed.jobs:
        by_name[job.name].append(job)
    history = {name: Runs.of(jobs) for name, jobs in by_name.items()}
    models: dict[tuple[str, str], list[ObservedModel]] = defaultdict(list)
    for model in observed.models:
        models[(model.name, model.fingerprint)].append(model)
    candidates = rename_candidates(desired.jobs, history)
    renamed = renames(candidates)
    context = _Context(desired=desired, options=options, models=models,
                       attempts=next_attempts(observed.jobs), history=history,
                       renames=renamed, candidates=candidates)
    # Decided in config order, so quota goes to the jobs written first; shown by name.
    targeted = set(options.targets)
    decided = [_launchable(job, _job_action(job, context), desired) for job in desired.jobs
               if not targeted or job.name in targeted]
    decided = _within_limits(decided, desired, observed)
    actions: list[Action] = sorted(decided, key=lambda action: action.name)
    actions += [orphan for orphan in _orphans({job.name for job in desired.jobs}
                                              | set(renamed.values()), history, observed)
                if not targeted or orphan.name in targeted]
    return Plan(actions=tuple(actions), warnings=desired.warnings,
                retry_failed=options.retry_failed, targets=tuple(sorted(targeted)),
                over_budget=over_budget(launch_estimates(actions), desired.budget),
                desired_digest=desired_digest(desired),
                observed_digest=observed_digest(observed), files=desired.files)
