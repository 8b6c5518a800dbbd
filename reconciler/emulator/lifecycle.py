"""The job state machine on the emulator clock; pure, so it is easy to reason about.

Every service's jobs move the same way, each through its own state enum (States).
Transition times derive from the job's create time and duration, never from when a
reader happens to look, so lazily advancing a job gives the same timestamps whoever advances it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.rpc import status_pb2

from reconciler.emulator.clock import to_timestamp

PENDING_FRACTION = 0.1  # share of the job's duration spent PENDING
CANCEL_SECONDS = 1.0  # CANCELLING lasts this long
OUTCOME_LABEL = "emulator-outcome"
FAILED_MESSAGE = "emulator: job failed on request (label emulator-outcome=failed)"
CANCELLED = 1  # google.rpc.Code.CANCELLED
INTERNAL = 13  # google.rpc.Code.INTERNAL
# CancelPipelineJob and CancelTuningJob (pipeline_service.proto, genai_tuning_service.proto):
# "On successful cancellation, the [job] is not deleted; instead it becomes a job with a
# [job].error value with a google.rpc.Status.code of 1, corresponding to Code.CANCELLED".
CANCELLED_ERROR = status_pb2.Status(code=CANCELLED, message="the job was cancelled")
# A job that failed while it was being cancelled (quirks.cancel_outcome "failed").
FAILED_CANCELLING = status_pb2.Status(code=INTERNAL,
                                      message="emulator: the job failed while cancelling")

# A job message (proto-plus) with state, times, error and labels, of whichever service.
Job = Any


@dataclass(frozen=True)
class States:
    """The members of one job state enum that the lifecycle moves through."""

    enum: Any  # the proto-plus enum of the job's state
    pending: int
    running: int
    succeeded: int
    failed: int
    cancelling: int
    cancelled: int
    # Accepted and held until the project's quota frees a slot (quirks.quota_mode "queue").
    queued: int | None = None

    @property
    def terminal(self) -> frozenset[int]:
        return frozenset({self.succeeded, self.failed, self.cancelled})

    @property
    def names(self) -> frozenset[str]:
        """Every member's name, as a List filter's `state=` takes them."""
        return frozenset(self.enum.__members__)


@dataclass(frozen=True)
class Schedule:
    create_time: float
    job_seconds: float
    cancel_time: float | None
    # Decided at create from the job's inputs; the run ends FAILED with it instead of succeeding.
    failure: status_pb2.Status | None = None
    # How a cancel ends (quirks.cancel_outcome): best effort, it may end either way.
    cancel_outcome: str = "cancelled"
    # When a queued job was let run: its course starts then, not at its creation.
    released_time: float | None = None

    @property
    def start(self) -> float:
        """When the job's course began: its creation, or its release from the queue."""
        return self.create_time if self.released_time is None else self.released_time

    def progress(self, at: float) -> float:
        """How much of its course the job had run at `at`, from 0 (pending) to 1 (done)."""
        start_at, end_at = _start_at(self), _end_at(self)
        return min(1.0, max(0.0, (at - start_at) / (end_at - start_at)))


def _start_at(schedule: Schedule) -> float:
    return schedule.start + schedule.job_seconds * PENDING_FRACTION


def _end_at(schedule: Schedule) -> float:
    return schedule.start + schedule.job_seconds


def _cancelled_at(schedule: Schedule) -> float:
    assert schedule.cancel_time is not None
    return schedule.cancel_time + CANCEL_SECONDS


def due(state: int, schedule: Schedule, states: States) -> float | None:
    """When a job in `state` next moves on the clock; None once it has ended (or for a
    state the clock never leaves), so a store only ever reads the jobs that are due."""
    moves = {states.pending: _start_at, states.running: _end_at,
             states.cancelling: _cancelled_at}.get(state)
    return None if moves is None else moves(schedule)


def advance(job: Job, schedule: Schedule, now: float, states: States) -> bool:
    """Moves `job` to its state at `now`, in place; returns whether it changed."""
    changed = False
    state = job.state
    if state == states.queued:
        return False  # it waits for quota; JobTable releases it
    if state == states.cancelling:
        done_at = _cancelled_at(schedule)
        if now >= done_at:
            _end_cancel(job, schedule, states, done_at)
            changed = True
        return changed
    start_at = _start_at(schedule)
    end_at = _end_at(schedule)
    if state == states.pending and now >= start_at:
        job.start_time = to_timestamp(start_at)
        _set_state(job, states, states.running, start_at)
        state, changed = job.state, True
    if state == states.running and now >= end_at:
        if schedule.failure is not None:
            job.error = schedule.failure
            _set_state(job, states, states.failed, end_at, end=True)
        elif job.labels.get(OUTCOME_LABEL) == "failed":
            job.error = status_pb2.Status(code=INTERNAL, message=FAILED_MESSAGE)
            _set_state(job, states, states.failed, end_at, end=True)
        else:
            _set_state(job, states, states.succeeded, end_at, end=True)
        changed = True
    return changed


def _end_cancel(job: Job, schedule: Schedule, states: States, at: float) -> None:
    """A cancel is best effort (genai_tuning_service.proto, CancelTuningJob: "check whether
    the cancellation succeeded or whether the job completed despite cancellation")."""
    if schedule.cancel_outcome == "succeeded":
        _set_state(job, states, states.succeeded, at, end=True)
    elif schedule.cancel_outcome == "failed":
        job.error = FAILED_CANCELLING
        _set_state(job, states, states.failed, at, end=True)
    else:
        job.error = CANCELLED_ERROR
        _set_state(job, states, states.cancelled, at, end=True)


def cancel(job: Job, now: float, states: States) -> float:
    """Starts cancelling `job` at `now`; returns when the cancel ends (its `due`)."""
    _set_state(job, states, states.cancelling, now)
    return now + CANCEL_SECONDS


def _set_state(job: Job, states: States, state: int, at: float, *, end: bool = False) -> None:
    job.state = states.enum(state)
    job.update_time = to_timestamp(at)
    if end:
        job.end_time = to_timestamp(at)
