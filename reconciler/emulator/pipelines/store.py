"""Pipeline jobs: their table, their lifecycle and the quota their runs draw on.

A succeeded run registers its Model and Endpoint in the transaction that finishes it.
"""

from __future__ import annotations

from google.cloud.aiplatform_v1.types.pipeline_job import PipelineJob
from google.cloud.aiplatform_v1.types.pipeline_state import PipelineState
from google.rpc import status_pb2

from reconciler.emulator import clock, lifecycle, quota
from reconciler.emulator.errors import already_exists
from reconciler.emulator.ids import next_id
from reconciler.emulator.jobs import LIFECYCLE_COLUMNS, JobStore, JobTable
from reconciler.emulator.names import Collection, split
from reconciler.emulator.pipelines.registration import BILLING_ID_LABEL, register_run
from reconciler.emulator.service import State

# The regions where code-bison tuning pipelines run.
LOCATIONS = ("us-central1", "europe-west4")
JOBS = Collection("pipelineJobs", "pipeline job", id_pattern="[^/]+", id_shape="ID")
BILLING = ("next_billing_id", 4_000_000_000_000_000_001)
# A code-bison run takes eight A100 80 GB GPUs in us-central1 (64 TPU v3 cores in
# europe-west4): the quota its runs draw on.
QUOTA = quota.Metric(
    "pipeline", "aiplatform.googleapis.com/restricted_image_training_nvidia_a100_80gb_gpus")
STATES = lifecycle.States(
    PipelineState,
    PipelineState.PIPELINE_STATE_PENDING,
    PipelineState.PIPELINE_STATE_RUNNING,
    PipelineState.PIPELINE_STATE_SUCCEEDED,
    PipelineState.PIPELINE_STATE_FAILED,
    PipelineState.PIPELINE_STATE_CANCELLING,
    PipelineState.PIPELINE_STATE_CANCELLED,
    # "The pipeline has been created or resumed, and processing has not yet begun."
    queued=PipelineState.PIPELINE_STATE_QUEUED,
)
TABLE = JobTable("jobs", JOBS.segment, "pipeline job", PipelineJob, STATES, register_run,
                 quota=QUOTA)
TABLES = f"""
CREATE TABLE IF NOT EXISTS jobs ({LIFECYCLE_COLUMNS},
    job_id TEXT NOT NULL,
    location TEXT NOT NULL,
    display_name TEXT NOT NULL
);
{TABLE.indexes()}"""


class PipelineJobs(JobStore[PipelineJob]):
    def __init__(self, state: State) -> None:
        super().__init__(state, TABLE)

    def create(
        self,
        parent: str,
        location: str,
        name: str,
        job: PipelineJob,
        job_seconds: float,
        *,
        failure: status_pb2.Status | None = None,
    ) -> PipelineJob:
        """Stores a new PENDING job named `name`; ALREADY_EXISTS if the name is taken.

        `failure`, if given, is the error the run ends with when it would otherwise succeed.
        """
        with self._db.write() as conn:
            if TABLE.exists(conn, name):
                raise already_exists(f"pipeline job {name} already exists")
            runs = TABLE.admit(conn, parent)
            now = clock.clock_now(conn)
            job.name = name
            job.state = PipelineState(PipelineState.PIPELINE_STATE_PENDING if runs
                                      else PipelineState.PIPELINE_STATE_QUEUED)
            job.create_time = job.update_time = clock.to_timestamp(now)
            # The service sets this reserved label itself, overriding any value the user sent.
            job.labels[BILLING_ID_LABEL] = str(next_id(conn, BILLING))
            TABLE.insert(conn, job, parent=parent, now=now, job_seconds=job_seconds,
                         failure=failure, job_id=split(name).id, location=location,
                         display_name=job.display_name)
            return job

    def exists(self, name: str) -> bool:
        with self._db.read() as conn:
            return TABLE.exists(conn, name)
