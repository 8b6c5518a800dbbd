"""Tuning jobs (GenAiTuningService): their table, their lifecycle, their quota.

A succeeded job registers its Model and Endpoint in the transaction that finishes it.
"""

from __future__ import annotations

import sqlite3
from typing import Any, TypeVar

from google.cloud.aiplatform_v1.types.job_state import JobState
from google.cloud.aiplatform_v1.types.tuning_job import TuningDataStats, TuningJob
from google.cloud.aiplatform_v1beta1.types import tuning_job as v1beta1
from google.rpc import status_pb2

from reconciler.emulator import clock, lifecycle, quota
from reconciler.emulator.ids import next_id
from reconciler.emulator.jobs import LIFECYCLE_COLUMNS, JobStore, JobTable
from reconciler.emulator.names import Collection
from reconciler.emulator.service import State
from reconciler.emulator.tuning_jobs.registration import leave_partial, register_job

# The regions where Gemini supervised tuning runs ("Supported tuning job regions", Vertex AI
# docs, gemini-supervised-tuning-region-settings, read 2026-12; the US regions of that list
# as the Generative AI locations page gives them): a tuned Gemini Model registers in its
# tuning job's own region.
LOCATIONS = (
    "us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west4",
    "northamerica-northeast1", "southamerica-east1",
    "europe-central2", "europe-north1", "europe-southwest1", "europe-west1", "europe-west2",
    "europe-west3", "europe-west4", "europe-west6", "europe-west8", "europe-west9",
    "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast3", "asia-south1",
    "asia-southeast1", "australia-southeast1", "me-central1", "me-central2", "me-west1",
)
JOBS = Collection("tuningJobs", "tuning job")
# Tuning job ids are 19-digit numbers like the real service's (`.../tuningJobs/1234...`).
TUNING_JOB = ("next_tuning_job_id", 5_000_000_000_000_000_001)
# "This is a global quota, shared across all available regions and supported models"
# (Vertex AI, Gemini tuning quota). The metric's name is undocumented.
QUOTA = quota.Metric("tuning-job", "aiplatform.googleapis.com/concurrent_tuning_jobs",
                     scope="global")


def tuning_states(job_state: Any) -> lifecycle.States:
    """A TuningJob's lifecycle, in either API version's JobState (the same enum)."""
    return lifecycle.States(
        job_state,
        job_state.JOB_STATE_PENDING,
        job_state.JOB_STATE_RUNNING,
        job_state.JOB_STATE_SUCCEEDED,
        job_state.JOB_STATE_FAILED,
        job_state.JOB_STATE_CANCELLING,
        job_state.JOB_STATE_CANCELLED,
        # "The job has been just created or resumed and processing has not yet begun"
        # (job_state.proto): how a gRPC client sees a job waiting for quota (undocumented).
        queued=job_state.JOB_STATE_QUEUED,
    )


STATES = tuning_states(JobState)
# A TuningJob has no display_name (tuning_job.proto), only tuned_model_display_name.
TABLE = JobTable("tuning_jobs", JOBS.segment, "tuning job", TuningJob, STATES, register_job,
                 display_name="''", quota=QUOTA, leftover=leave_partial)
TABLES = f"""
CREATE TABLE IF NOT EXISTS tuning_jobs ({LIFECYCLE_COLUMNS}
);
{TABLE.indexes()}"""
# Output-only TuningJob fields (tuning_job.proto): whatever a client sends in them is ignored.
OUTPUT_ONLY = (
    "name", "state", "create_time", "start_time", "end_time", "update_time", "error",
    "experiment", "tuned_model", "tuning_data_stats", "evaluate_dataset_runs",
)


J = TypeVar("J", TuningJob, v1beta1.TuningJob)  # of either API version


def insert_job(conn: sqlite3.Connection, table: JobTable, job: J, *, parent: str,
               job_seconds: float, failure: status_pb2.Status | None,
               output_only: tuple[str, ...], runs: bool = True,
               stats: TuningDataStats | None = None) -> J:
    """Stores `job` as a new PENDING (or, waiting for quota, QUEUED) job of `table` under a
    fresh service-chosen numeric id; `stats` is what the service read of its dataset.

    Every table of the collection takes its ids from one sequence: no two jobs of any
    version share a name.
    """
    message = table.message.pb(job)
    for field in output_only:
        message.ClearField(field)
    if stats is not None:
        job.tuning_data_stats = stats
    now = clock.clock_now(conn)
    job.name = JOBS.name(parent, next_id(conn, TUNING_JOB))
    queued = table.states.queued
    job.state = table.states.enum(
        table.states.pending if runs or queued is None else queued)
    job.create_time = job.update_time = clock.to_timestamp(now)
    table.insert(conn, job, parent=parent, now=now, job_seconds=job_seconds, failure=failure)
    return job


class TuningJobs(JobStore[TuningJob]):
    def __init__(self, state: State) -> None:
        super().__init__(state, TABLE)

    def create(
        self,
        parent: str,
        location: str,
        job: TuningJob,
        job_seconds: float,
        *,
        failure: status_pb2.Status | None = None,
        stats: TuningDataStats | None = None,
    ) -> TuningJob:
        """Stores a new PENDING job under an id the service picks (the request has none);
        past the project's quota, refused or queued (quota.admit).

        `failure`, if given, is the error the run ends with when it would otherwise succeed;
        `stats` what the service read of its dataset (TuningJob.tuning_data_stats).
        """
        with self._db.write() as conn:
            runs = TABLE.admit(conn, parent)
            return insert_job(conn, TABLE, job, parent=parent, job_seconds=job_seconds,
                              failure=failure, output_only=OUTPUT_ONLY, runs=runs, stats=stats)
