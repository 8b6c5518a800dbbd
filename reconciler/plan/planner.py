"""PURE: (desired, observed) -> Plan. No I/O at all; every decision of tuneops is made here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

from reconciler.core import quota
from reconciler.core.budget import over_budget
from reconciler.core.channels import Evaluations, Scoring
from reconciler.core.desired import Dataset, Desired, DesiredJob, Evaluation
from reconciler.core.estimate import Estimate, Totals, tokens_text, totals
from reconciler.core.fingerprint import digest
from reconciler.core.observed import JobState, Observed, ObservedJob, ObservedModel
from reconciler.core.resources import parse
from reconciler.errors import Problem
from reconciler.kinds import Launch, kind_of, quota_slot, slot_of
from reconciler.plan import diff, promotion
from reconciler.plan.actions import (
    ACTION_KINDS,
    Action,
    Attribute,
    Change,
    Create,
    DriftRelaunch,
    Evaluate,
    Failed,
    Orphan,
    Queued,
    Refused,
    Rename,
    Retune,
    Running,
    ScoredRun,
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
    leftovers,
    next_attempts,
    rename_candidates,
    renames,
)

# 2: actions carry `job_id` (was `pipeline_job_id`), and launches their `kind`.
# 3: `rename`, `cancel` (twins, superseded runs), `evaluate`/`promote`/`hold` actions; a
#    create's attributes; the plan's `files`, `targets` and `retired` Models.
PLAN_FORMAT_VERSION = 3


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
    # Models the service would not delete, kept as retired (they serve nothing).
    retired: tuple[str, ...] = ()
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

    @property
    def evaluations(self) -> list[tuple[str, Estimate]]:
        return evaluation_estimates(self.actions)

    @cached_property
    def totals(self) -> Totals:
        return totals((estimate for _, estimate in self.launches),
                      (estimate for _, estimate in self.evaluations))

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

    @property
    def prunes(self) -> bool:
        """Whether `apply --prune` has something to remove: an orphan, or a leftover of a
        job's runs."""
        return any((isinstance(action, Orphan) and action.removable)
                   or (isinstance(action, Stopping) and action.leftovers)
                   for action in self.actions)

    @cached_property
    def stopping(self) -> int:
        """How many runs applying it cancels (superseded runs and twins)."""
        return sum(len(stops(action)) for action in self.actions)


def launch_estimates(actions: Sequence[Action]) -> list[tuple[str, Estimate]]:
    """Each launching action's job name and what it will spend (queued ones included: the
    plan commits to them)."""
    return [(a.name, a.estimate or Estimate()) for a in actions if is_launch(a)]


def evaluation_estimates(actions: Sequence[Action]) -> list[tuple[str, Estimate]]:
    """Each evaluation's job name and what its inference costs."""
    return [(a.name, a.estimate or Estimate()) for a in actions if isinstance(a, Evaluate)]


def _dataset(name: str, dataset: Dataset) -> Attribute:
    """A dataset of a `+` block, with its examples and tokens where they are counted."""
    counted = [f"{dataset.examples:,} examples"] if dataset.examples is not None else []
    if dataset.tokens is not None:
        counted.append(f"≈ {tokens_text(dataset.tokens)} tokens")
    return Attribute(name, dataset.path or dataset.uri, ", ".join(counted))


def _evaluation_attributes(evaluation: Evaluation | None) -> list[Attribute]:
    """`evaluation:` and `promotion:` under their document keys: metadata, beside the rest."""
    if evaluation is None:
        return []
    found = [_dataset("evaluation.dataset_uri", evaluation.dataset),
             Attribute("evaluation.metric", evaluation.metric)]
    rule = evaluation.promotion
    if rule is not None:
        found += [Attribute("promotion.channel", rule.channel),
                  Attribute("promotion.min_score", rule.min_score, unset="none"),
                  Attribute("promotion.must_beat_current", rule.must_beat_current)]
    return found


def attributes(job: DesiredJob, launch: Launch) -> tuple[Attribute, ...]:
    """A create's `+` block, for any kind: its datasets with their examples, its weight
    inputs (None: the service's default), its Model's metadata, how its runs are evaluated
    and promoted, and the job's id where it is known before the run."""
    found = [Attribute("kind", job.kind)]
    found += [_dataset(f"{dataset.role}_dataset", dataset) for dataset in job.datasets]
    # Dataset hashes are the datasets above, by content.
    found += [Attribute(key, value) for key, value in job.inputs.items()
              if key != "kind" and not key.endswith("dataset_hash")]
    found += [Attribute(key, value) for key, value in job.metadata.items()]
    found += _evaluation_attributes(job.evaluation)
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
    # Every Model of a name (retired ones aside).
    by_name: Mapping[str, Sequence[ObservedModel]]
    attempts: Mapping[tuple[str, str], int]
    history: Mapping[str, Runs]
    renames: Mapping[str, str]
    candidates: Mapping[str, Sequence[str]]
    evaluations: Evaluations
    # Observed Models by resource name (retired ones aside).
    registered: Mapping[str, ObservedModel]
    # The runs a channel points to: never cancelled, their Models never pruned.
    promoted: frozenset[str]

    def launch(self, job: DesiredJob) -> Launch:
        attempt = self.attempts.get((job.name, job.fingerprint), 1)
        return _launch(job, self.desired, self.options, attempt)

    def model(self, job: DesiredJob, decided: ObservedJob) -> ObservedModel | None:
        """The Model of the deciding run: the one of its attempt (or of an attempt its
        labels do not say), never one another attempt left."""
        found = [m for m in self.models.get((decided.name, job.fingerprint), ())
                 if m.attempt in (decided.attempt, 0)]
        return max(found, key=lambda m: m.attempt == decided.attempt, default=None)

    def runs_of(self, job: DesiredJob) -> Runs | None:
        old = self.renames.get(job.name)
        return self.history[old] if old else self.history.get(job.name)

    def candidate(self, job: DesiredJob) -> ScoredRun | None:
        """The job's succeeded run of its fingerprint with its Model: what is evaluated."""
        runs = self.runs_of(job)
        if job.evaluation is None or not runs:
            return None
        succeeded = [run for run in runs.of_fingerprint(job.fingerprint)
                     if run.state == JobState.SUCCEEDED]
        if not succeeded:
            return None
        decided = decisive(succeeded)
        model = self.model(job, decided)
        if model is None:
            return None
        scoring = Scoring(job.evaluation.dataset.content_hash, job.evaluation.metric)
        return promotion.scored(decided, model, self.evaluations, scoring)


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
    if decided.state == JobState.QUEUED:
        return Running(name=job.name, reason="the service holds the job until quota frees a "
                       "slot (queued by the service)", job_id=decided.job_id,
                       state=decided.state.value)
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
    if decided.state in (JobState.CANCELLED, JobState.FAILED) and decided.cancelled_by_tuneops:
        # A cancel is best effort: a run tuneops cancelled may end FAILED too, and that is
        # the cancel's doing, not the job's.
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
    runs = context.runs_of(job)
    if not runs:
        launch = context.launch(job)
        return Create(name=job.name, reason=_create_reason(job, context),
                      job_id=launch.job_id, launch=launch, attributes=attributes(job, launch))
    action = _rename(job, old, runs, context) if old else _decided_action(job, runs, context)
    cancel, twins = runs.stops(job, context.desired.cancel_superseded, context.promoted)
    if (cancel or twins) and isinstance(action, Stopping):
        # Whatever else it does: a superseded run costs money, a twin is a duplicate launch.
        action = replace(action, cancel=cancel, twins=twins)
    left = leftovers(job, runs, context.by_name.get(job.name, ()), context.promoted)
    if left and isinstance(action, Stopping):
        action = replace(action, leftovers=left)
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
    """Launches past `limits:` (concurrent jobs per location, or per project, and kind) wait
    as queued."""
    if not desired.limits:
        return actions
    running = quota.running(observed.jobs, slot_of)
    kinds = {job.name: job.kind for job in desired.jobs}
    # Higher `priority:` first, then config order (a stable sort keeps it).
    priority = {job.name: -int(job.spec.priority) for job in desired.jobs}
    result: list[Action] = []
    for action in sorted(actions, key=lambda action: priority.get(action.name, 0)):
        if not launches_now(action):
            result.append(action)
            continue
        # A run being cancelled keeps its slot until it ends, as the service counts it.
        slot = quota_slot(kinds[action.name], action.launch.location)
        limit = quota.limit_of(desired.limits, slot)
        if limit is None or running[slot] < limit:
            running[slot] += 1
            result.append(action)
            continue
        where = ("across all locations" if slot[0] == quota.GLOBAL
                 else f"in {slot[0]}")
        result.append(Queued.of(action, f"waits for quota: {running[slot]} of {limit} "
                                f"{slot[1]} job(s) running {where} ({action.action}: "
                                f"{action.reason})"))
    return result


def _orphans(names: set[str], history: Mapping[str, Runs], observed: Observed
             ) -> list[Action]:
    """Names gone from configs (and not renamed) that still hold a Model or a running job.

    Finished jobs without a Model are history, kept in Vertex AI and no longer reported. A
    Model a channel points to is kept, even by --prune: an application resolves to it.
    """
    active = {name: [job.resource for job in runs.all if job.state.active]
              for name, runs in history.items() if name not in names}
    serving = {parse(now.model).unversioned: channel
               for channel, now in observed.evaluations.channels.items()}
    # Nor are the endpoints of a run a channel points to ever among those prune may touch.
    promoted = {now.job for now in observed.evaluations.channels.values()}
    models: dict[str, list[str]] = defaultdict(list)
    kept: dict[str, list[str]] = defaultdict(list)
    for model in observed.models:
        if model.name not in names and not model.retired:
            channel = serving.get(model.resource)
            if channel is None:
                models[model.name].append(model.resource)
            else:
                kept[model.name].append(f"keeps {model.resource}: {channel} points to it")
    return [
        Orphan(name=name, reason="; ".join(["no longer in configs; apply --prune deletes its "
                                            "Models and cancels its running jobs",
                                            *kept[name]]),
               job_id=history[name].all[-1].job_id if name in history else None,
               jobs=tuple(sorted(active.get(name, ()))), models=tuple(sorted(models[name])),
               runs=tuple(sorted(job.resource for job in history[name].all
                                 if job.resource not in promoted) if name in history else ()))
        for name in sorted({n for n, running in active.items() if running} | set(models)
                           | set(kept))
    ]


def _evaluation_digest(job: DesiredJob) -> list[object]:
    # Only jobs with `evaluation:` carry it, so the digest of any other plan stays as it was.
    evaluation = job.evaluation
    if evaluation is None:
        return []
    rule = evaluation.promotion
    return [[evaluation.dataset.content_hash, evaluation.dataset.uri, evaluation.metric,
             None if rule is None else [rule.channel, rule.min_score, rule.must_beat_current]]]


def desired_digest(desired: Desired) -> str:
    prices = [desired.prediction_prices] if desired.prediction_prices else []
    return digest([desired.target.project, desired.target.staging_bucket,
                   desired.cancel_superseded, desired.prices, desired.budget.model_dump(),
                   desired.limits,
                   [[j.name, j.fingerprint, j.metadata, *_evaluation_digest(j)]
                    for j in desired.jobs], *prices])


def _evaluations_digest(evaluations: Evaluations) -> list[object]:
    if not evaluations:
        return []
    return [[sorted([key.path(), scoring.dataset, scoring.metric, score]
                    for (key, scoring), score in evaluations.scores.items()),
             sorted([channel, now.run.path(), now.model] for channel, now in
                    evaluations.channels.items()),
             sorted([key.path(), sorted(channels)]
                    for key, channels in evaluations.promoted.items())]]


def observed_digest(observed: Observed) -> str:
    return digest([
        sorted([j.job_id, j.name, j.fingerprint, j.state.value, j.cancelled_by_tuneops]
               for j in observed.jobs),
        sorted([m.resource, m.name, m.display_name, m.description, m.labels, m.retired,
                m.labels_refused] for m in observed.models),
        *_evaluations_digest(observed.evaluations),
    ])


def plan(desired: Desired, observed: Observed, options: PlanOptions | None = None) -> Plan:
    options = options or PlanOptions()
    runs_of: dict[str, list[ObservedJob]] = defaultdict(list)
    for job in observed.jobs:
        runs_of[job.name].append(job)
    history = {name: Runs.of(jobs) for name, jobs in runs_of.items()}
    models: dict[tuple[str, str], list[ObservedModel]] = defaultdict(list)
    by_name: dict[str, list[ObservedModel]] = defaultdict(list)
    # A retired Model serves nothing: it decides nothing and is no orphan.
    for model in observed.models:
        if not model.retired:
            models[(model.name, model.fingerprint)].append(model)
            by_name[model.name].append(model)
    candidates = rename_candidates(desired.jobs, history)
    renamed = renames(candidates)
    evaluations = observed.evaluations
    # Retired Models serve nothing: no run is scored or promoted through one.
    registered = {model.resource: model for model in observed.models if not model.retired}
    context = _Context(desired=desired, options=options, models=models, by_name=by_name,
                       attempts=next_attempts(observed.jobs), history=history,
                       renames=renamed, candidates=candidates, evaluations=evaluations,
                       registered=registered,
                       promoted=frozenset(now.job for now in evaluations.channels.values()))
    # Decided in config order, so quota goes to the jobs written first; shown by name.
    targeted = set(options.targets)
    # --target takes a job with its evaluation, promotion and hold: they are its steps.
    jobs = [job for job in desired.jobs if not targeted or job.name in targeted]
    decided = [promotion.with_rule(_launchable(job, _job_action(job, context), desired), job,
                                   evaluations, registered) for job in jobs]
    # A job's evaluation follows its tuning action, once its run and Model exist.
    steps = [step for job, action in zip(jobs, decided, strict=True)
             if (step := promotion.step(job, action, context.candidate(job), desired=desired,
                                        evaluations=evaluations, models=registered))
             is not None]
    decided = _within_limits(decided, desired, observed)
    actions: list[Action] = sorted([*decided, *steps], key=lambda action: action.name)
    actions += [orphan for orphan in _orphans({job.name for job in desired.jobs}
                                              | set(renamed.values()), history, observed)
                if not targeted or orphan.name in targeted]
    return Plan(actions=tuple(actions), warnings=desired.warnings,
                retry_failed=options.retry_failed, targets=tuple(sorted(targeted)),
                retired=tuple(sorted(m.resource for m in observed.models if m.retired)),
                over_budget=over_budget(launch_estimates(actions), desired.budget,
                                        evaluation_estimates(actions)),
                desired_digest=desired_digest(desired),
                observed_digest=observed_digest(observed), files=desired.files)
