"""PipelineService handlers: CreatePipelineJob, GetPipelineJob, ListPipelineJobs, Cancel."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from google.cloud.aiplatform_v1.types import (
    CancelPipelineJobRequest,
    CreatePipelineJobRequest,
    GetPipelineJobRequest,
    ListPipelineJobsRequest,
    ListPipelineJobsResponse,
    PipelineJob,
)
from google.protobuf import empty_pb2

from reconciler.emulator.errors import EmulatorError, already_exists
from reconciler.emulator.filters import JOB_FIELDS, Subject, parse_filter
from reconciler.emulator.names import job_name, parse_job_name, parse_parent
from reconciler.emulator.paging import filtered_page
from reconciler.emulator.rpc import Method
from reconciler.emulator.store import EmulatorStore
from reconciler.emulator.validation import validate_create

SERVICE = "google.cloud.aiplatform.v1.PipelineService"

ObjectExists = Callable[[str], bool]


class PipelineService:
    def __init__(
        self, store: EmulatorStore, object_exists: ObjectExists, job_seconds: float
    ) -> None:
        self._store = store
        self._object_exists = object_exists
        self._job_seconds = job_seconds

    def methods(self) -> list[Method]:
        return [
            Method(
                "CreatePipelineJob",
                self.create,
                CreatePipelineJobRequest.deserialize,
                PipelineJob.serialize,
                droppable=True,
            ),
            Method(
                "GetPipelineJob", self.get, GetPipelineJobRequest.deserialize, PipelineJob.serialize
            ),
            Method(
                "ListPipelineJobs",
                self.list,
                ListPipelineJobsRequest.deserialize,
                ListPipelineJobsResponse.serialize,
            ),
            Method(
                "CancelPipelineJob",
                self.cancel,
                CancelPipelineJobRequest.deserialize,
                empty_pb2.Empty.SerializeToString,
            ),
        ]

    def create(self, request: CreatePipelineJobRequest) -> PipelineJob:
        _, location = parse_parent(request.parent)
        job = request.pipeline_job
        objects = validate_create(location, job, request.pipeline_job_id)
        name = job_name(request.parent, request.pipeline_job_id)
        # A duplicate reports ALREADY_EXISTS before anything slower or more specific, so a
        # retry after a lost response sees the job it already created.
        if self._store.job_exists(name):
            raise already_exists(f"pipeline job {name} already exists")
        for kind, uri in objects:
            if not self._object_exists(uri):
                raise EmulatorError(
                    grpc.StatusCode.FAILED_PRECONDITION, f"{kind} object {uri} not found"
                )
        return self._store.create_job(request.parent, location, name, job, self._job_seconds)

    def get(self, request: GetPipelineJobRequest) -> PipelineJob:
        parse_job_name(request.name)
        return self._store.get_job(request.name)

    def list(self, request: ListPipelineJobsRequest) -> ListPipelineJobsResponse:
        parse_parent(request.parent)
        matches = parse_filter(request.filter, JOB_FIELDS)
        page, token = filtered_page(
            self._store.list_jobs(request.parent),
            lambda job: matches(Subject(dict(job.labels), job.display_name, job.state.name)),
            request.page_size, request.page_token)
        return ListPipelineJobsResponse(pipeline_jobs=page, next_page_token=token)

    def cancel(self, request: CancelPipelineJobRequest) -> empty_pb2.Empty:
        parse_job_name(request.name)
        self._store.cancel_job(request.name)
        return empty_pb2.Empty()
