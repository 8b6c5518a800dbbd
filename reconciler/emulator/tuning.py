"""GenAiTuningService handlers: CreateTuningJob, GetTuningJob, ListTuningJobs, CancelTuningJob.

Gemini supervised tuning (tuning_job.proto). Unlike CreatePipelineJob, the request carries no
id (genai_tuning_service.proto, CreateTuningJobRequest has only `parent` and `tuning_job`): the
service picks one, so two identical creates make two jobs. There is no DeleteTuningJob.
"""

from __future__ import annotations

from google.cloud.aiplatform_v1.types import (
    CancelTuningJobRequest,
    CreateTuningJobRequest,
    GetTuningJobRequest,
    ListTuningJobsRequest,
    ListTuningJobsResponse,
    TuningJob,
)
from google.protobuf import empty_pb2

from reconciler.emulator.examples import ReadObject, dataset_failure
from reconciler.emulator.filters import TUNING_JOB_FIELDS, TUNING_STATES, parse_filter
from reconciler.emulator.gemini_examples import gemini_problem
from reconciler.emulator.names import GEMINI_TUNING_LOCATIONS, parse_parent, parse_tuning_job_name
from reconciler.emulator.rpc import Method
from reconciler.emulator.store import EmulatorStore
from reconciler.emulator.tuning_validation import validate_tuning_job

SERVICE = "google.cloud.aiplatform.v1.GenAiTuningService"


class GenAiTuningService:
    def __init__(self, store: EmulatorStore, read_object: ReadObject, job_seconds: float) -> None:
        self._store = store
        self._read_object = read_object
        self._job_seconds = job_seconds

    def methods(self) -> list[Method]:
        return [
            Method(
                "CreateTuningJob",
                self.create,
                CreateTuningJobRequest.deserialize,
                TuningJob.serialize,
                droppable=True,
            ),
            Method("GetTuningJob", self.get, GetTuningJobRequest.deserialize, TuningJob.serialize),
            Method(
                "ListTuningJobs",
                self.list,
                ListTuningJobsRequest.deserialize,
                ListTuningJobsResponse.serialize,
            ),
            Method(
                "CancelTuningJob",
                self.cancel,
                CancelTuningJobRequest.deserialize,
                empty_pb2.Empty.SerializeToString,
            ),
        ]

    def create(self, request: CreateTuningJobRequest) -> TuningJob:
        parse_parent(request.parent, GEMINI_TUNING_LOCATIONS)
        job = request.tuning_job
        objects = validate_tuning_job(job)
        # The job reads its datasets only once running, so a missing or bad object fails the
        # run, not this call. Decided now because only this server knows its storage endpoint.
        failure = dataset_failure(objects, self._read_object, gemini_problem)
        return self._store.create_tuning_job(
            request.parent, job, self._job_seconds, failure=failure
        )

    def get(self, request: GetTuningJobRequest) -> TuningJob:
        parse_tuning_job_name(request.name)
        return self._store.get_tuning_job(request.name)

    def list(self, request: ListTuningJobsRequest) -> ListTuningJobsResponse:
        parse_parent(request.parent, GEMINI_TUNING_LOCATIONS)
        matches = parse_filter(request.filter, TUNING_JOB_FIELDS, TUNING_STATES)
        page, token = self._store.list_tuning_jobs(
            request.parent, matches, request.page_size, request.page_token
        )
        return ListTuningJobsResponse(tuning_jobs=page, next_page_token=token)

    def cancel(self, request: CancelTuningJobRequest) -> empty_pb2.Empty:
        parse_tuning_job_name(request.name)
        self._store.cancel_tuning_job(request.name)
        return empty_pb2.Empty()
