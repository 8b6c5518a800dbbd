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
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        """Pending or running: a run that a cancel can still stop."""
        return self in (JobState.PENDING, JobState.RUNNING)

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
    # The Endpoint that answers for a succeeded run (its kind's adapter says which: a
    # TuningJob's tuned_model.endpoint); "" when the run names none.
    endpoint: str = ""

    @property
    def label_name(self) -> str:
        """The name in the run's labels: with its fingerprint and attempt, the key that
        finds it, its lease and its records."""
        return self.launched_as or self.name


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


@dataclass(frozen=True)
class RunOutputs:
    """What a succeeded run created, as its job records it."""

    model: str | None = None
    endpoint: str | None = None


@dataclass(frozen=True)
class Observed:
    jobs: tuple[ObservedJob, ...] = ()
    models: tuple[ObservedModel, ...] = ()
    # Scores and channels, as the staging bucket records them.
    evaluations: Evaluations = field(default_factory=Evaluations)
