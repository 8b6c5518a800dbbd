"""PURE: observed state: the essence of what exists in Vertex AI, with server-owned noise dropped.

Backends translate their API payloads into these values so that planning compares like with
like and never sees a protobuf.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        return self in (JobState.PENDING, JobState.RUNNING)


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


@dataclass(frozen=True)
class RunOutputs:
    """What a succeeded run created, as its job records it."""

    model: str | None = None
    endpoint: str | None = None


@dataclass(frozen=True)
class Observed:
    jobs: tuple[ObservedJob, ...] = ()
    models: tuple[ObservedModel, ...] = ()
