"""PipelineService: CreatePipelineJob, GetPipelineJob, ListPipelineJobs, CancelPipelineJob.

The reference's tune-large-model and tune-large-chat-model pipelines (code-bison and
codechat-bison), the kind `pipeline` of tuneops.
"""

from __future__ import annotations

from google.cloud.aiplatform_v1.types.pipeline_job import PipelineJob
from google.cloud.aiplatform_v1.types.pipeline_service import (
    CancelPipelineJobRequest,
    CreatePipelineJobRequest,
    GetPipelineJobRequest,
    ListPipelineJobsRequest,
    ListPipelineJobsResponse,
)
from google.protobuf import empty_pb2

from reconciler.emulator.errors import already_exists
from reconciler.emulator.examples import ReadObject
from reconciler.emulator.listing import kept
from reconciler.emulator.names import parent, parse_parent
from reconciler.emulator.paging import check_order_by
from reconciler.emulator.pipelines.examples import run_failure
from reconciler.emulator.pipelines.readmask import apply_read_mask, check_read_mask
from reconciler.emulator.pipelines.store import (
    JOBS,
    LOCATIONS,
    QUOTA,
    STATES,
    TABLE,
    TABLES,
    PipelineJobs,
)
from reconciler.emulator.pipelines.validation import validate_create
from reconciler.emulator.rpc import Method
from reconciler.emulator.service import Context, Jobs, Service, State

NAME = "google.cloud.aiplatform.v1.PipelineService"
# What a ListPipelineJobs filter can look at.
FIELDS = frozenset({"labels", "display_name", "state"})


class PipelineService:
    def __init__(self, state: State, read_object: ReadObject, job_seconds: float) -> None:
        self._state = state
        self._store = PipelineJobs(state)
        self._read_object = read_object
        self._job_seconds = job_seconds

    def methods(self) -> list[Method]:
        return [
            Method(
                "CreatePipelineJob",
                self.create,
                CreatePipelineJobRequest.deserialize,
                PipelineJob.serialize,
                droppable=True,
                submission=True,
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
        project, location = parse_parent(request.parent, LOCATIONS)
        job = request.pipeline_job
        objects = validate_create(location, job, request.pipeline_job_id)
        parent_name = parent(project, location)
        name = JOBS.name(parent_name, request.pipeline_job_id)
        # A duplicate reports ALREADY_EXISTS before anything slower or more specific, so a
        # retry after a lost response sees the job it already created.
        if self._store.exists(name):
            raise already_exists(f"pipeline job {name} already exists")
        # The real pipeline reads its dataset only once running, so a missing or bad object
        # fails the run, not this call. It is decided now because only this server knows its
        # storage endpoint; whoever advances the job later (any process) applies it.
        failure = run_failure(job.template_uri, objects, self._read_object)
        return self._store.create(
            parent_name, location, name, job, self._job_seconds, failure=failure
        )

    def get(self, request: GetPipelineJobRequest) -> PipelineJob:
        return self._store.get(JOBS.parse(request.name, LOCATIONS).unversioned)

    def list(self, request: ListPipelineJobsRequest) -> ListPipelineJobsResponse:
        project, location = parse_parent(request.parent, LOCATIONS)
        check_order_by(request.order_by)
        check_read_mask(request.read_mask)
        matches = kept(self._state, request.filter, FIELDS, STATES.names)
        page, token = self._store.page(
            parent(project, location), matches, request.page_size, request.page_token
        )
        for job in page:
            # The real list leaves job_detail out; only GetPipelineJob returns task details.
            job.job_detail = None  # type: ignore[assignment]  # proto-plus: None clears
        return ListPipelineJobsResponse(
            pipeline_jobs=[apply_read_mask(job, request.read_mask) for job in page],
            next_page_token=token,
        )

    def cancel(self, request: CancelPipelineJobRequest) -> empty_pb2.Empty:
        self._store.cancel(JOBS.parse(request.name, LOCATIONS).unversioned)
        return empty_pb2.Empty()


def _serve(context: Context) -> list[tuple[str, list[Method]]]:
    service = PipelineService(context.state, context.read_object, context.job_seconds)
    return [(NAME, service.methods())]


SERVICE = Service(serve=_serve, tables=TABLES, upgrade=TABLE.upgrade, locations=LOCATIONS,
                  jobs=Jobs(QUOTA, TABLE))
