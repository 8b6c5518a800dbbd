"""Executes a Plan through a Backend. It never re-plans: it does what the plan says."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
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
from reconciler.plan.actions import (
    Action,
    DriftRestore,
    Evaluate,
    Failed,
    Hold,
    Launching,
    Noop,
    Orphan,
    Patching,
    Promote,
    Queued,
    Refused,
    Rename,
    Running,
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
        self.backend.registry.update(patch.model, display_name=patch.display_name,
                                     description=patch.description, labels=patch.labels)
        return Outcome(action.name, action.action, "updated", "; ".join([patch.model, *stopped]))

    def rename(self, action: Rename) -> Outcome:
        self.backend.rename(action.runs, action.name)
        details = [f"from {action.renamed_from}, {len(action.runs)} run(s), nothing tuned",
                   *self.stop(action)]
        if action.patch is not None:
            patch = action.patch
            try:
                self.backend.registry.update(patch.model, display_name=patch.display_name,
                                             description=patch.description,
                                             labels=patch.labels)
            except TuneopsError as error:
                # The staging bucket's record is what observing reads; labels only follow.
                details.append(f"the Model keeps its old labels ({error})")
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

    def prune_orphan(self, action: Orphan) -> Outcome:
        for job in action.jobs:
            self.backend.cancel(job)
        created = {endpoint for run in action.runs
                   if (endpoint := self.backend.outputs(run).endpoint)}
        kept = [reason for model in action.models
                if (reason := retire_model(self.backend.registry, model, created))]
        deleted = len(action.models) - len(kept)
        detail = (f"{deleted} model(s) deleted, {len(action.jobs)} job(s) cancelled; finished "
                  "jobs are kept as history")
        if kept:
            return Outcome(action.name, action.action, "failed", "; ".join([detail, *kept]),
                           ok=False)
        return Outcome(action.name, action.action, "pruned", detail)

    def step(self, action: Action) -> Step | None:
        """The work an action needs, or None for actions that only report."""
        if launches_now(action):
            return lambda: self.launch(action)
        match action:
            case Update() | DriftRestore():
                return lambda: self.update(action)
            case Rename():
                return lambda: self.rename(action)
            case Orphan():
                return (lambda: self.prune_orphan(action)) if self.prune else None
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


def retire_model(registry: Registry, model: str, created: set[str]) -> str:
    """Undeploys a Model from the endpoints its runs created, deletes those left serving
    nothing, then deletes the Model; "" when done, else why the Model was kept.

    An endpoint or deployment tuneops did not create is never touched: a Model deployed there
    stays, and the reason says where.
    """
    deployments = registry.deployments(model)
    foreign = sorted({endpoint for endpoint, _ in deployments if endpoint not in created})
    if foreign:
        return (f"kept {model}: deployed on {', '.join(foreign)}, which tuneops did not "
                "create; undeploy it there, then prune again")
    for endpoint, deployed_model_id in deployments:
        registry.undeploy(endpoint, deployed_model_id)
    for endpoint in sorted({endpoint for endpoint, _ in deployments}):
        if registry.serves_nothing(endpoint):
            registry.delete_endpoint(endpoint)
    registry.delete(model)
    return ""


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
    running = quota.running(backend.observe().jobs)
    executor = _Executor(backend, storage, root, prune=False)
    stop = stop or threading.Event()
    outcomes: list[Outcome] = []
    still: list[Queued] = []
    for action in waiting:
        slot = (action.launch.location, kinds[action.name])
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
