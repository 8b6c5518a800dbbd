"""Open-model tuning jobs (GenAiTuningService v1beta1): their table, lifecycle and quota.

Their names are the same collection as Gemini's (`.../tuningJobs/ID`, one id sequence): the
v1 service reads, lists and cancels them too (emulator/jobs.py JobView), as Vertex AI serves
one collection through both API versions. A succeeded job registers its Model and Endpoint in
the transaction that finishes it.
"""

from __future__ import annotations

from google.cloud.aiplatform_v1beta1.types.job_state import JobState
from google.cloud.aiplatform_v1beta1.types.tuning_job import TuningJob
from google.rpc import status_pb2

from reconciler.emulator import quota
from reconciler.emulator.jobs import LIFECYCLE_COLUMNS, JobStore, JobTable
from reconciler.emulator.open_models.registration import register_job
from reconciler.emulator.service import State
from reconciler.emulator.tuning_jobs.store import JOBS, OUTPUT_ONLY, insert_job, tuning_states

# "Supported regions" of the open-model tuning page; a tuned Model registers in its tuning
# job's own region (ASSUMPTION, as for Gemini).
LOCATIONS = ("us-central1", "europe-west4")
# ASSUMPTION: undocumented whether open-model jobs draw on Gemini's concurrent tuning quota;
# modelled as a quota of their own.
QUOTA = quota.Metric("open-model", "aiplatform.googleapis.com/concurrent_open_model_tuning_jobs")
# The same service as Gemini's jobs: the same lifecycle, past quota held or refused alike.
STATES = tuning_states(JobState)
TABLE = JobTable("open_model_tuning_jobs", JOBS.segment, "tuning job", TuningJob, STATES,
                 register_job, display_name="''", quota=QUOTA)
TABLES = f"""
CREATE TABLE IF NOT EXISTS open_model_tuning_jobs ({LIFECYCLE_COLUMNS}
);
{TABLE.indexes()}"""
# v1beta1 has one output-only field v1 lacks (tuning_job.proto, TuningJob.pipeline_job).
V1BETA1_OUTPUT_ONLY = (*OUTPUT_ONLY, "pipeline_job")


class OpenModelTuningJobs(JobStore[TuningJob]):
    def __init__(self, state: State) -> None:
        super().__init__(state, TABLE)

    def create(self, parent: str, location: str, job: TuningJob, job_seconds: float, *,
               failure: status_pb2.Status | None = None) -> TuningJob:
        """Stores a new PENDING job under an id the service picks (the request has none).

        `failure`, if given, is the error the run ends with when it would otherwise succeed.
        """
        with self._db.write() as conn:
            runs = TABLE.admit(conn, parent)
            return insert_job(conn, TABLE, job, parent=parent, job_seconds=job_seconds,
                              failure=failure, output_only=V1BETA1_OUTPUT_ONLY, runs=runs)
