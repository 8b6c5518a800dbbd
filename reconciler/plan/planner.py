"""PURE: (desired, observed) -> Plan. No I/O at all; every decision of tuneops is made here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from reconciler.core import labels as managed
from reconciler.core import quota
from reconciler.core.budget import over_budget
from reconciler.core.desired import Desired, DesiredJob
from reconciler.core.estimate import Estimate, Totals, tokens_text, totals
from reconciler.core.fingerprint import digest, metadata_digest
from reconciler.core.observed import JobState, Observed, ObservedJob, ObservedModel
from reconciler.core.resources import location_of
from reconciler.errors import Problem
from reconciler.kinds import Launch, kind_of
from reconciler.plan import diff
from reconciler.plan.actions import (
    ACTION_KINDS,
    Action,
    Attribute,
    Create,
    DriftRelaunch,
    DriftRestore,
    Failed,
    ModelPatch,
    Noop,
    Orphan,
    Queued,
    Refused,
    Retune,
    Running,
    Update,
    is_launch,
    launches_now,
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
        return any(ACTION_KINDS[action.action].changes for action in self.actions)


def launch_estimates(actions: Sequence[Action]) -> list[tuple[str, Estimate]]:
    """Each launching action's job name and what it will spend (queued ones included: the
    plan commits to them)."""
    return [(a.name, a.estimate or Estimate()) for a in actions if is_launch(a)]


def _best(jobs: Sequence[ObservedJob]) -> ObservedJob:
    """The job that decides a fingerprint's fate: an active one, else a success, else the last."""
    active = [job for job in jobs if job.state.active]
    succeeded = [job for job in jobs if job.state == JobState.SUCCEEDED]
    return (active or succeeded or list(jobs))[-1]


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


def _identity(job: DesiredJob) -> dict[str, str]:
    """The labels by which the list call finds a Model as this job's."""
    return {managed.MANAGED_BY: managed.MANAGER, managed.NAME: job.name,
            managed.FINGERPRINT: job.fingerprint}


def _model_action(job: DesiredJob, decided: ObservedJob, model: ObservedModel) -> Action:
    # Labels tuneops owns: those in git now and those its run was launched with. Labels the
    # service adds (tune-type, billing ids) or another tool or person sets are never
    # compared, reported or removed.
    owned = set(job.metadata["labels"]) | set(decided.metadata["labels"])
    live_labels = {key: value for key, value in model.labels.items() if key in owned}
    live = {"model_display_name": model.display_name, "description": model.description,
            "labels": live_labels}
    found = diff.changes({}, live, {}, job.metadata)
    identity = _identity(job)
    identified = all(model.all_labels.get(k) == v for k, v in identity.items())
    if not found and identified:
        return Noop(name=job.name, reason="up to date", job_id=decided.job_id,
                    model=model.resource)
    display_name, user_labels = job.metadata["model_display_name"], job.metadata["labels"]
    kept = {k: v for k, v in model.all_labels.items() if k not in owned}
    patch = ModelPatch(
        model=model.resource, display_name=display_name,
        description=job.metadata["description"],
        labels=dict(sorted({**kept, **user_labels, **identity,
                            managed.METADATA: metadata_digest(display_name, user_labels)
                            }.items())))
    fields = ", ".join(change.field for change in found)
    if not identified:
        differs = f"; metadata differs: {fields}" if found else ""
        return Update(name=job.name, reason="the Model lacks tuneops' labels (the pipeline did "
                      f"not copy them), apply adds them{differs}", job_id=decided.job_id,
                      patch=patch, changes=found)
    recorded = model.all_labels.get(managed.METADATA)
    if recorded is not None and recorded != metadata_digest(model.display_name, live_labels):
        return DriftRestore(name=job.name, reason=f"Model edited outside git ({fields}); apply "
                            "restores it from git", job_id=decided.job_id, patch=patch,
                            changes=found)
    return Update(name=job.name, reason=f"Model metadata differs: {fields}",
                  job_id=decided.job_id, patch=patch, changes=found)


def _job_action(job: DesiredJob, history: Sequence[ObservedJob],
                models: dict[tuple[str, str], ObservedModel], desired: Desired,
                options: PlanOptions) -> Action:
    if not history:
        launch = _launch(job, desired, options, attempt=1)
        return Create(name=job.name, reason="new job", job_id=launch.job_id, launch=launch,
                      attributes=attributes(job, launch))
    same = [observed for observed in history if observed.fingerprint == job.fingerprint]
    if not same:
        latest = history[-1]
        launch = _launch(job, desired, options, attempt=1)
        found = diff.changes(latest.inputs, latest.metadata, job.inputs, job.metadata)
        forcing = ", ".join(c.field for c in found if c.forces_retune) or "fingerprint"
        cancel = tuple(o.resource for o in history if o.state.active and desired.cancel_superseded)
        return Retune(name=job.name, reason=f"changed: {forcing}",
                      job_id=launch.job_id, launch=launch, changes=found, cancel=cancel)
    decided = _best(same)
    if decided.state.active:
        return Running(name=job.name, reason=f"job is {decided.state}",
                       job_id=decided.job_id, state=decided.state.value)
    if decided.state == JobState.SUCCEEDED:
        model = models.get((job.name, job.fingerprint))
        if model is not None:
            return _model_action(job, decided, model)
        launch = _launch(job, desired, options, attempt=len(same) + 1)
        return DriftRelaunch(name=job.name, reason=f"the Model of {decided.job_id} was deleted "
                             "outside git; apply tunes again", job_id=launch.job_id,
                             launch=launch)
    if options.retry_failed:
        launch = _launch(job, desired, options, attempt=len(same) + 1)
        return Retune(name=job.name, reason=f"retrying {decided.state} job {decided.job_id}",
                      job_id=launch.job_id, launch=launch)
    return Failed(name=job.name, reason=f"job {decided.state}; apply --retry-failed relaunches it",
                  job_id=decided.job_id, error=decided.error)


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
        slot = (action.launch.location, kinds[action.name])
        cancelled = action.cancel if isinstance(action, Retune) else ()
        # A superseded run cancelled first gives its slot to the re-tune.
        running[slot] -= sum(location_of(resource) == slot[0] for resource in cancelled)
        limit = quota.limit_of(desired.limits, slot)
        if limit is None or running[slot] < limit:
            running[slot] += 1
            result.append(action)
            continue
        running[slot] += len(cancelled)  # not cancelled after all: it keeps its slot
        result.append(Queued.of(action, f"waits for quota: {running[slot]} of {limit} "
                                f"{slot[1]} job(s) running in {slot[0]} ({action.action}: "
                                f"{action.reason})"))
    return result


def _orphans(names: set[str], history: dict[str, list[ObservedJob]],
             observed: Observed) -> list[Action]:
    """Names gone from configs that still hold a Model or a running job.

    Finished jobs without a Model are history, kept in Vertex AI and no longer reported.
    """
    active = {name: [job.resource for job in jobs if job.state.active]
              for name, jobs in history.items() if name not in names}
    models: dict[str, list[str]] = defaultdict(list)
    for model in observed.models:
        if model.name not in names:
            models[model.name].append(model.resource)
    return [
        Orphan(name=name, reason="no longer in configs; apply --prune deletes its Models and "
               "cancels its running jobs",
               job_id=history[name][-1].job_id if history.get(name) else None,
               jobs=tuple(sorted(active.get(name, ()))), models=tuple(sorted(models[name])),
               runs=tuple(sorted(job.resource for job in history.get(name, ())
                                 if job.state == JobState.SUCCEEDED)))
        for name in sorted({n for n, running in active.items() if running} | set(models))
    ]


def desired_digest(desired: Desired) -> str:
    return digest([desired.target.project, desired.target.staging_bucket,
                   desired.cancel_superseded, desired.prices, desired.budget.model_dump(),
                   desired.limits,
                   [[j.name, j.fingerprint, j.metadata] for j in desired.jobs]])


def observed_digest(observed: Observed) -> str:
    return digest([
        sorted([j.job_id, j.fingerprint, j.state.value] for j in observed.jobs),
        sorted([m.resource, m.display_name, m.description, m.labels] for m in observed.models),
    ])


def plan(desired: Desired, observed: Observed, options: PlanOptions | None = None) -> Plan:
    options = options or PlanOptions()
    history: dict[str, list[ObservedJob]] = defaultdict(list)
    for job in sorted(observed.jobs, key=lambda j: (j.create_time, j.job_id)):
        history[job.name].append(job)
    models = {(m.name, m.fingerprint): m for m in observed.models}
    # Decided in config order, so quota goes to the jobs written first; shown by name.
    targeted = set(options.targets)
    decided = [_launchable(job, _job_action(job, history[job.name], models, desired,
                                            options), desired)
               for job in desired.jobs if not targeted or job.name in targeted]
    decided = _within_limits(decided, desired, observed)
    actions: list[Action] = sorted(decided, key=lambda action: action.name)
    actions += [orphan for orphan in _orphans({job.name for job in desired.jobs}, history,
                                              observed)
                if not targeted or orphan.name in targeted]
    return Plan(actions=tuple(actions), warnings=desired.warnings,
                retry_failed=options.retry_failed, targets=tuple(sorted(targeted)),
                over_budget=over_budget(launch_estimates(actions), desired.budget),
                desired_digest=desired_digest(desired),
                observed_digest=observed_digest(observed), files=desired.files)
