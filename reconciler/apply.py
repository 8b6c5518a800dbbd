"""Executes a Plan through a Backend. It never re-plans: it does what the plan says."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from reconciler.backends.base import Backend
from reconciler.core.actions import Action, Create, Drift, ModelPatch, Orphan, Retune, Update
from reconciler.core.plan import Plan
from reconciler.errors import TuneopsError
from reconciler.kinds.pipeline import LaunchSpec
from reconciler.storage import Storage


@dataclass(frozen=True)
class Outcome:
    name: str
    action: str
    result: str
    detail: str
    ok: bool = True
    # Set for launches, so `apply --wait` can follow the job.
    location: str = ""
    job_id: str = ""


@dataclass(frozen=True)
class ApplyOptions:
    parallelism: int = 4
    prune: bool = False


@dataclass(frozen=True)
class _Executor:
    backend: Backend
    storage: Storage
    root: Path
    prune: bool

    def launch(self, action: Create | Retune | Drift, launch: LaunchSpec) -> Outcome:
        for upload in launch.uploads:
            self.storage.upload(self.root / upload.source, upload.destination)
        cancelled = []
        if isinstance(action, Retune):
            for resource in action.cancel:
                self.backend.cancel(resource)
                cancelled.append(resource.rsplit("/", 1)[-1])
        created, job = self.backend.create(launch)
        detail = job.job_id + (f" (cancelled {', '.join(cancelled)})" if cancelled else "")
        return Outcome(action.name, action.action, created.value, detail,
                       location=launch.location, job_id=job.job_id)

    def update(self, action: Update | Drift, patch: ModelPatch) -> Outcome:
        self.backend.update_model(patch.model, display_name=patch.display_name,
                                  description=patch.description, labels=patch.labels)
        return Outcome(action.name, action.action, "updated", patch.model)

    def prune_orphan(self, action: Orphan) -> Outcome:
        for job in action.jobs:
            self.backend.cancel(job)
        for model in action.models:
            self.backend.delete_model(model)
        return Outcome(action.name, action.action, "pruned",
                       f"{len(action.models)} model(s) deleted, {len(action.jobs)} job(s) "
                       "cancelled; finished jobs are kept as history")

    def step(self, action: Action) -> Callable[[], Outcome] | None:
        """The work an action needs, or None for actions that only report."""
        if isinstance(action, Create | Retune | Drift) and action.launch is not None:
            launch = action.launch
            return lambda: self.launch(action, launch)
        if isinstance(action, Update | Drift) and action.patch is not None:
            patch = action.patch
            return lambda: self.update(action, patch)
        if isinstance(action, Orphan) and self.prune:
            return lambda: self.prune_orphan(action)
        return None


def _run(action: Action, work: Callable[[], Outcome]) -> Outcome:
    try:
        return work()
    except TuneopsError as error:
        # One failing action does not stop the others; the summary reports it.
        return Outcome(action.name, action.action, "failed", str(error), ok=False)


def apply(plan: Plan, backend: Backend, storage: Storage, root: Path,
          options: ApplyOptions | None = None) -> tuple[Outcome, ...]:
    options = options or ApplyOptions()
    executor = _Executor(backend, storage, root, options.prune)
    steps = [(action, work) for action in plan.actions
             if (work := executor.step(action)) is not None]
    if not steps:
        return ()
    with ThreadPoolExecutor(max_workers=max(1, options.parallelism)) as pool:
        futures = [pool.submit(_run, action, work) for action, work in steps]
        return tuple(future.result() for future in futures)
