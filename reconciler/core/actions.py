"""The plan's vocabulary: a closed union of small frozen dataclasses, one per action kind.

Every action carries `name`, `action`, `reason`, `changes` and `pipeline_job_id`, so the
renderers and the JSON schema treat them alike; the rest is what apply needs to execute it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from reconciler.kinds.pipeline import LaunchSpec


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any
    forces_retune: bool


@dataclass(frozen=True)
class ModelPatch:
    """The Model's metadata as git says it should be, written with one UpdateModel."""

    model: str
    display_name: str
    description: str
    labels: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class Create:
    """No job with this name exists: launch one."""

    action: Literal["create"] = "create"
    name: str
    reason: str
    pipeline_job_id: str
    launch: LaunchSpec
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Retune:
    """A weight input changed (or the Model is gone, or a failed run is retried): launch anew."""

    action: Literal["retune"] = "retune"
    name: str
    reason: str
    pipeline_job_id: str
    launch: LaunchSpec
    changes: tuple[Change, ...] = ()
    # Still-running jobs of a superseded fingerprint, cancelled before the launch.
    cancel: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Update:
    """Only metadata differs: patch the Model in place, no tuning."""

    action: Literal["update"] = "update"
    name: str
    reason: str
    pipeline_job_id: str
    patch: ModelPatch
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Drift:
    """The Model of the current run was changed outside git: re-tune if gone, else restore."""

    action: Literal["drift"] = "drift"
    name: str
    reason: str
    pipeline_job_id: str
    changes: tuple[Change, ...] = ()
    launch: LaunchSpec | None = None
    patch: ModelPatch | None = None


@dataclass(frozen=True, kw_only=True)
class Noop:
    action: Literal["noop"] = "noop"
    name: str
    reason: str
    pipeline_job_id: str
    model: str
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Running:
    action: Literal["running"] = "running"
    name: str
    reason: str
    pipeline_job_id: str
    state: str
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Failed:
    """The job of this fingerprint failed; relaunched only with --retry-failed."""

    action: Literal["failed"] = "failed"
    name: str
    reason: str
    pipeline_job_id: str
    error: str
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Orphan:
    """Managed resources whose name left configs; touched only with --prune."""

    action: Literal["orphan"] = "orphan"
    name: str
    reason: str
    pipeline_job_id: str | None
    # Running jobs (cancelled by --prune) and Models (deleted by --prune).
    jobs: tuple[str, ...]
    models: tuple[str, ...]
    changes: tuple[Change, ...] = ()


Action = Create | Retune | Update | Drift | Noop | Running | Failed | Orphan
