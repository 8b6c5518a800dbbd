"""PURE: observed state: the essence of what exists in Vertex AI, with server-owned noise dropped.

Backends translate their API payloads into these values so that planning compares like with
like and never sees a protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.core.channels import Evaluations


class JobState(StrEnum):
    # Accepted, not started: the service holds it (JOB_STATE_QUEUED), waiting for quota.
    QUEUED = "queued"
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        """Queued, pending or running: a run that a cancel can still stop."""
        return self in (JobState.QUEUED, JobState.PENDING, JobState.RUNNING)

    @property
    def ended(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)

    @property
    def unfinished(self) -> bool:
        """Not ended yet. A cancel is best effort ("check whether the cancellation succeeded
        or whether the job completed despite cancellation", genai_tuning_service.proto), so
        a CANCELLING run still holds its quota and may yet succeed or fail."""
        return self.active or self == JobState.CANCELLING


@dataclass(frozen=True)
class ObservedJob:
    kind: str
    job_id: str
    resource: str
    name: str
    fingerprint: str
    state: JobState
    create_time: str
    inputs: dict[str, Any]
    metadata: dict[str, Any]
    commit: str = ""
    error: str = ""
    # Which attempt at its fingerprint the run is (a relaunch is 2, 3, ...).
    attempt: int = 1
    # The name the run was launched under (its label, which can never change), when a
    # rename recorded in the staging bucket moved it to `name`; "" when it is `name`.
    launched_as: str = ""
    # Why tuneops cancelled it, as recorded in the staging bucket ("superseded", ...); ""
    # when tuneops did not (it ran its course, or someone else cancelled it).
    cancelled_by_tuneops: str = ""
    # What it created, when the list result says so (None: only a Get of the run tells).
    outputs: RunOutputs | None = None
    # What the service reports of the run beyond its state ("3 examples dropped", ...).
    notes: tuple[str, ...] = ()

    @property
    def label_name(self) -> str:
        """The name in the run's labels: with its fingerprint and attempt, the key that
        finds it, its lease and its records."""
        return self.launched_as or self.name

    @property
    def endpoint(self) -> str:
        """The Endpoint that answers for a succeeded run: its tuned model endpoint, which
        "represents the endpoint of the default checkpoint" (Vertex AI docs, tuning
        checkpoints); "" when the run names none."""
        return (self.outputs.endpoint or "") if self.outputs is not None else ""


@dataclass(frozen=True)
class ObservedModel:
    resource: str
    name: str
    fingerprint: str
    display_name: str
    description: str
    labels: dict[str, str]
    all_labels: dict[str, str] = field(default_factory=dict)
    # Endpoints the Model is deployed to.
    endpoints: tuple[str, ...] = ()
    # The attempt of the run that made it, when known (0: its labels do not say).
    attempt: int = 0
    # Found through its run, not by its labels (the service did not copy them).
    via_run: bool = False
    # The service refuses to set its labels (recorded in the staging bucket): tuneops
    # compares and writes only its display name and description.
    labels_refused: bool = False
    # The service refused to delete it, so tuneops retired it (recorded in the staging
    # bucket): it serves nothing and is no orphan.
    retired: bool = False


@dataclass(frozen=True)
class RunOutputs:
    """What a run created, as its job records it."""

    model: str | None = None
    # The endpoint of the tuned Model (of its default checkpoint).
    endpoint: str | None = None
    # Each intermediate checkpoint's own endpoint ("deployed to new endpoints sequentially as
    # tuning progresses", Vertex AI docs, tuning checkpoints).
    checkpoint_endpoints: tuple[str, ...] = ()

    @property
    def endpoints(self) -> tuple[str, ...]:
        """Every endpoint the run created: all of them are the run's own."""
        return tuple(dict.fromkeys(e for e in (self.endpoint, *self.checkpoint_endpoints) if e))


@dataclass(frozen=True)
class Observed:
    jobs: tuple[ObservedJob, ...] = ()
    models: tuple[ObservedModel, ...] = ()
    # Scores and channels, as the staging bucket records them.
    evaluations: Evaluations = field(default_factory=Evaluations)
