"""Executes a Plan through a Backend. It never re-plans: it does what the plan says."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import partial
from pathlib import Path

from reconciler.apply import evaluate as evaluation
from reconciler.apply.staging import stage
from reconciler.backends.base import Backend, Registry
from reconciler.core import quota
from reconciler.core.identity import SUPERSEDED
from reconciler.core.resources import id_of
from reconciler.edges.storage import Storage
from reconciler.errors import QuotaExceeded, TuneopsError
from reconciler.kinds import quota_slot, slot_of
from reconciler.plan.actions import (
    Action,
    DriftRestore,
    Evaluate,
    Failed,
    Hold,
    Launching,
    Leftover,
    Noop,
    Orphan,
    Patching,
    Promote,
    Queued,
    Refused,
    Rename,
    Running,
    Stopping,
    Update,
    launches_now,
    stops,
)
from reconciler.plan.planner import Plan


@dataclass(frozen=True)
class Outcome:
    name: str
    action: str
    result: str
    detail: str
    ok: bool = True
    # The launched job's resource name, so `apply --wait` can follow it.
    resource: str = ""


NOT_STARTED = "not started"


@dataclass(frozen=True)
class ApplyOptions:
    parallelism: int = 4
    prune: bool = False
    # Set (by a signal handler) to start no further action; calls in flight finish.
    stop: threading.Event = field(default_factory=threading.Event)


Step = Callable[[], Outcome]


@dataclass(frozen=True)
class _Executor:
    backend: Backend
    storage: Storage
    root: Path
    prune: bool
    stop_event: threading.Event = field(default_factory=threading.Event)

    def stop(self, action: Action) -> list[str]:
        """Cancels the runs the action stops; what happened to each, for its outcome."""
        done = []
        for resource, why in stops(action):
            # A superseded run is recorded as tuneops' cancel, so its end is no failure.
            started = self.backend.cancel(resource, reason=SUPERSEDED if why == "superseded"
                                          else "")
            run = id_of(resource)
            done.append(f"cancelled {why} {run}" if started else f"{why} {run} had ended")
        return done

    def launch(self, action: Launching | Queued) -> Outcome:
        launch = action.launch
        for upload in launch.uploads:
            stage(self.storage, self.root, upload)
        stopped = self.stop(action)
        launched = self.backend.create(launch)
        if launched.cancelled_twin:
            stopped.append(f"cancelled twin {id_of(launched.cancelled_twin)}, "
                           "launched at the same time; the older is kept")
        detail = launched.job.job_id + (f" ({'; '.join(stopped)})" if stopped else "")
        return Outcome(action.name, action.action, launched.created.value, detail,
                       resource=launched.job.resource)

    def update(self, action: Patching) -> Outcome:
        stopped = self.stop(action)
        patch = action.patch
        refused = self.backend.registry.update(
            patch.model, display_name=patch.display_name, description=patch.description,
            labels=patch.labels)
        if refused:
            stopped.append(f"the service refuses this Model's labels ({refused}): recorded, "
                           "its run identifies it from now on")
        return Outcome(action.name, action.action, "updated", "; ".join([patch.model, *stopped]))

    def rename(self, action: Rename) -> Outcome:
        self.backend.rename(action.runs, action.name)
        details = [f"from {action.renamed_from}, {len(action.runs)} run(s), nothing tuned",
                   *self.stop(action)]
        if action.patch is not None:
            patch = action.patch
            try:
                refused = self.backend.registry.update(
                    patch.model, display_name=patch.display_name,
                    description=patch.description, labels=patch.labels)
            except TuneopsError as error:
                refused = str(error)
            if refused:
                # The staging bucket's record is what observing reads; labels only follow.
                details.append(f"the Model keeps its old labels ({refused})")
        return Outcome(action.name, action.action, "renamed", "; ".join(details))

    def evaluate(self, action: Evaluate) -> Outcome:
        try:
            result, detail = evaluation.evaluate(action, self.backend, self.storage, self.root,
                                               self.stop_event)
        except evaluation.PromotionFailed as error:
            # Scored and recorded: the failure is the promotion's (apply's exit reason).
            return Outcome(action.name, "promote", "failed", str(error), ok=False)
        return Outcome(action.name, action.action, result, detail)

    def promote(self, action: Promote) -> Outcome:
        detail = evaluation.promote_action(action, self.backend)
        return Outcome(action.name, action.action, "promoted", detail)

    def stop_only(self, action: Action) -> Outcome:
        return Outcome(action.name, action.action, "cancelled", "; ".join(self.stop(action)))

    def created(self, runs: Iterable[str]) -> set[str]:
        """Every endpoint these runs' outputs name (each checkpoint's too): the only ones
        prune may touch."""
        return {endpoint for run in runs for endpoint in self.backend.outputs(run).endpoints}

    def prune_orphan(self, action: Orphan) -> Outcome:
        for job in action.jobs:
            self.backend.cancel(job)
        removed = remove_models(self.backend.registry, action.models, self.created(action.runs))
        detail = "; ".join([f"{len(action.jobs)} job(s) cancelled", *removed.done,
                            "finished jobs are kept as history", *removed.kept])
        if removed.kept:
            return Outcome(action.name, action.action, "failed", detail, ok=False)
        return Outcome(action.name, action.action, "pruned", detail)

    def prune_leftovers(self, action: Stopping, work: Step | None) -> Outcome:
        """The action's own work, then (apply --prune) the leftovers of its runs."""
        outcome = (work() if work is not None
                   else Outcome(action.name, action.action, "pruned", ""))
        left: tuple[Leftover, ...] = action.leftovers
        try:
            removed = remove_models(self.backend.registry, [one.model for one in left],
                                    self.created(one.run for one in left), what="leftover")
        except TuneopsError as error:
            # What the action itself did stands; the leftovers wait for the next prune.
            removed = Removed((), (f"leftovers kept: {error}",))
        detail = "; ".join(part for part in (outcome.detail, *removed.done, *removed.kept)
                           if part)
        return replace(outcome, detail=detail, ok=outcome.ok and not removed.kept,
                       result=outcome.result if not removed.kept else "failed")

    def step(self, action: Action) -> Step | None:
        """The work an action needs, or None for actions that only report."""
        work = self._work(action)
        if self.prune and isinstance(action, Stopping) and action.leftovers:
            return lambda: self.prune_leftovers(action, work)
        return work

    def _work(self, action: Action) -> Step | None:
        if launches_now(action):
            return lambda: self.launch(action)
        match action:
            case Update() | DriftRestore():
                return lambda: self.update(action)
            case Rename():
                return lambda: self.rename(action)
            case Orphan():
                return ((lambda: self.prune_orphan(action)) if self.prune and action.removable
                        else None)
            case Noop() | Running() | Failed() | Queued():
                # A queued launch waits (`apply --wait` makes it: launch_queued), but what
                # it stops is stopped now.
                return (lambda: self.stop_only(action)) if stops(action) else None
            case Evaluate():
                return lambda: self.evaluate(action)
            case Promote():
                return lambda: self.promote(action)
            case Refused() | Hold():
                return None
            case _:
                raise TypeError(f"apply does not know the action {action!r}")


class Retired(StrEnum):
    DELETED = "deleted"
    # The service refused to delete it: its endpoints are gone and it is recorded retired.
    RETIRED = "retired"


def retire_model(registry: Registry, model: str, created: set[str]) -> Retired | str:
    """Undeploys a Model from the endpoints its runs created (every checkpoint's), deletes
    those left serving nothing, then deletes the Model; how it ended, or why it was kept.

    An endpoint or deployment tuneops did not create is never touched: a Model deployed there
    stays, and the reason says where. A Model the service refuses to delete (a tuned Gemini
    Model may be undeletable) is retired: it serves nothing, so it costs nothing idle.
    """
    deployments = registry.deployments(model)
    foreign = sorted({endpoint for endpoint, _ in deployments if endpoint not in created})
    if foreign:
        return (f"kept {model}: deployed on {', '.join(foreign)}, which tuneops did not "
                "create; undeploy it there, then prune again")
    for endpoint, deployed_model_id in deployments:
        registry.undeploy(endpoint, deployed_model_id)
    # The run's endpoints, also one a checkpoint was deployed to that the Model no longer
    # lists; an endpoint still serving anything (another Model) stays.
    for endpoint in sorted(created | {endpoint for endpoint, _ in deployments}):
        if registry.serves_nothing(endpoint):
            registry.delete_endpoint(endpoint)
    return Retired.DELETED if registry.delete(model) else Retired.RETIRED


@dataclass(frozen=True)
class Removed:
    """What removing some Models did, in words: done, and kept (each a failure)."""

    done: tuple[str, ...]
    kept: tuple[str, ...]


def remove_models(registry: Registry, models: Iterable[str], created: set[str], *,
                  what: str = "") -> Removed:
    ended = [(model, retire_model(registry, model, created)) for model in models]
    kept = tuple(end for _, end in ended if not isinstance(end, Retired))
    deleted = sum(end is Retired.DELETED for _, end in ended)
    retired = [model for model, end in ended if end is Retired.RETIRED]
    noun = f"{what} model(s)" if what else "model(s)"
    done = [f"{deleted} {noun} deleted"] if deleted or not what else []
    if retired:
        done.append(f"{len(retired)} {noun} retired, since the service refuses to delete "
                    f"them ({', '.join(id_of(m) for m in retired)}): their endpoints are "
                    "deleted, so idle they cost nothing; recorded, they are no orphans")
    return Removed(tuple(done), kept)


QUEUED = "queued"


def _run(action: Action, work: Step, stop: threading.Event) -> Outcome:
    if stop.is_set():
        return Outcome(action.name, action.action, NOT_STARTED, "apply was interrupted first",
                       ok=False)
    try:
        return work()
    except QuotaExceeded as error:
        # Past quota the job waits, as if planned queued: the next apply launches it.
        return Outcome(action.name, action.action, QUEUED, str(error))
    except TuneopsError as error:
        # One failing action does not stop the others; the summary reports it.
        return Outcome(action.name, action.action, "failed", str(error), ok=False)


def launch_queued(waiting: list[Queued], backend: Backend, storage: Storage, root: Path, *,
                  limits: Mapping[str, Mapping[str, int]], kinds: Mapping[str, str],
                  stop: threading.Event | None = None) -> tuple[list[Outcome], list[Queued]]:
    """One round of `apply --wait` for queued launches: those that fit in `limits:` now
    (counting the jobs running) are launched in order; the rest, and any the service still
    refuses for quota, keep waiting. Observing again is not planning again: what launches
    is exactly what the plan queued."""
    running = quota.running(backend.observe().jobs, slot_of)
    executor = _Executor(backend, storage, root, prune=False)
    stop = stop or threading.Event()
    outcomes: list[Outcome] = []
    still: list[Queued] = []
    for action in waiting:
        slot = quota_slot(kinds[action.name], action.launch.location)
        limit = quota.limit_of(limits, slot)
        if stop.is_set() or (limit is not None and running[slot] >= limit):
            still.append(action)
            continue
        outcome = _run(action, partial(executor.launch, action), stop)
        if outcome.result == QUEUED:
            still.append(action)
            continue
        running[slot] += 1
        outcomes.append(outcome)
    return outcomes, still


def apply(plan: Plan, backend: Backend, storage: Storage, root: Path,
          options: ApplyOptions | None = None) -> tuple[Outcome, ...]:
    options = options or ApplyOptions()
    executor = _Executor(backend, storage, root, options.prune, options.stop)
    steps = [(action, work) for action in plan.actions
             if (work := executor.step(action)) is not None]
    if not steps:
        return ()
    with ThreadPoolExecutor(max_workers=max(1, options.parallelism)) as pool:
        futures = [pool.submit(_run, action, work, options.stop) for action, work in steps]
        return tuple(future.result() for future in futures)
