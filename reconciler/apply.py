"""Executes a Plan through a Backend. It never re-plans: it does what the plan says."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from reconciler.actions import Action, Create, Orphan, Retune, Update
from reconciler.backends.base import Backend
from reconciler.errors import TuneopsError
from reconciler.plan import Plan
from reconciler.storage import Storage


@dataclass(frozen=True)
class Outcome:
    name: str
    action: str
    result: str
    detail: str
    ok: bool = True


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

    def launch(self, action: Create | Retune) -> Outcome:
        launch = action.launch
        for upload in launch.uploads:
            self.storage.upload(self.root / upload.source, upload.destination)
        cancelled = []
        if isinstance(action, Retune):
            for resource in action.cancel:
                self.backend.cancel(resource)
                cancelled.append(resource.rsplit("/", 1)[-1])
        created, job = self.backend.create(launch)
        detail = job.job_id + (f" (cancelled {', '.join(cancelled)})" if cancelled else "")
        return Outcome(action.name, action.action, created.value, detail)

    def update(self, action: Update) -> Outcome:
        self.backend.update_model(action.model, display_name=action.display_name,
                                  description=action.description, labels=action.labels)
        return Outcome(action.name, action.action, "updated", action.model)

    def prune_orphan(self, action: Orphan) -> Outcome:
        for model in action.models:
            self.backend.delete_model(model)
        return Outcome(action.name, action.action, "deleted",
                       f"{len(action.models)} model(s); jobs are kept as history")

    def step(self, action: Action) -> Callable[[], Outcome] | None:
        """The work an action needs, or None for actions that only report."""
        if isinstance(action, Create | Retune):
            return lambda: self.launch(action)
        if isinstance(action, Update):
            return lambda: self.update(action)
        if isinstance(action, Orphan) and self.prune and action.models:
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
