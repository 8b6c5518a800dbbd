"""The pipeline job state machine on the emulator clock; pure, so it is easy to reason about.

Transition times derive from the job's create time and duration, never from when a reader
happens to look, so lazily advancing a job gives the same timestamps whoever advances it.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.cloud.aiplatform_v1.types import PipelineJob, PipelineState
from google.rpc import status_pb2

from reconciler.emulator.clock import to_timestamp

TERMINAL_STATES = frozenset(
    {
        PipelineState.PIPELINE_STATE_SUCCEEDED,
        PipelineState.PIPELINE_STATE_FAILED,
        PipelineState.PIPELINE_STATE_CANCELLED,
    }
)
PENDING_FRACTION = 0.1  # share of the job's duration spent PENDING
CANCEL_SECONDS = 1.0  # CANCELLING lasts this long
OUTCOME_LABEL = "emulator-outcome"
FAILED_MESSAGE = "emulator: job failed on request (label emulator-outcome=failed)"
INTERNAL = 13  # google.rpc.Code.INTERNAL


@dataclass(frozen=True)
class Schedule:
    create_time: float
    job_seconds: float
    cancel_time: float | None
    # Decided at create from the job's inputs; the run ends FAILED with it instead of succeeding.
    failure: status_pb2.Status | None = None


def advance(job: PipelineJob, schedule: Schedule, now: float) -> bool:
    """Moves `job` to its state at `now`, in place; returns whether it changed."""
    changed = False
    state = job.state
    if state == PipelineState.PIPELINE_STATE_CANCELLING:
        assert schedule.cancel_time is not None
        done_at = schedule.cancel_time + CANCEL_SECONDS
        if now >= done_at:
            _set_state(job, PipelineState.PIPELINE_STATE_CANCELLED, done_at, end=True)
            changed = True
        return changed
    start_at = schedule.create_time + schedule.job_seconds * PENDING_FRACTION
    end_at = schedule.create_time + schedule.job_seconds
    if state == PipelineState.PIPELINE_STATE_PENDING and now >= start_at:
        job.start_time = to_timestamp(start_at)
        _set_state(job, PipelineState.PIPELINE_STATE_RUNNING, start_at)
        state, changed = job.state, True
    if state == PipelineState.PIPELINE_STATE_RUNNING and now >= end_at:
        if schedule.failure is not None:
            job.error = schedule.failure
            _set_state(job, PipelineState.PIPELINE_STATE_FAILED, end_at, end=True)
        elif job.labels.get(OUTCOME_LABEL) == "failed":
            job.error = status_pb2.Status(code=INTERNAL, message=FAILED_MESSAGE)
            _set_state(job, PipelineState.PIPELINE_STATE_FAILED, end_at, end=True)
        else:
            _set_state(job, PipelineState.PIPELINE_STATE_SUCCEEDED, end_at, end=True)
        changed = True
    return changed


def cancel(job: PipelineJob, now: float) -> None:
    _set_state(job, PipelineState.PIPELINE_STATE_CANCELLING, now)


def _set_state(job: PipelineJob, state: int, at: float, *, end: bool = False) -> None:
    job.state = PipelineState(state)  # mypy sees proto-plus enum members as plain ints
    job.update_time = to_timestamp(at)
    if end:
        job.end_time = to_timestamp(at)
