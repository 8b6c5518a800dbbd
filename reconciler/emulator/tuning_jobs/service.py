"""GenAiTuningService: CreateTuningJob, GetTuningJob, ListTuningJobs, CancelTuningJob.

Gemini supervised tuning (tuning_job.proto), the kind `tuning-job` of tuneops. Unlike
CreatePipelineJob, the request carries no id (genai_tuning_service.proto,
CreateTuningJobRequest has only `parent` and `tuning_job`): the service picks one, so two
identical creates make two jobs. There is no DeleteTuningJob.
"""

from __future__ import annotations

from typing import Any

from google.cloud.aiplatform_v1.types import genai_tuning_service
from google.cloud.aiplatform_v1.types.tuning_job import TuningJob
from google.protobuf import empty_pb2

from reconciler.emulator import lifecycle
from reconciler.emulator.examples import ReadObject
from reconciler.emulator.jobs import JobStore
from reconciler.emulator.listing import kept
from reconciler.emulator.names import parent, parse_parent
from reconciler.emulator.rpc import Method
from reconciler.emulator.service import Context, Jobs, Service, State
from reconciler.emulator.tuning_jobs.examples import dataset_stats
from reconciler.emulator.tuning_jobs.store import (
    JOBS,
    LOCATIONS,
    QUOTA,
    STATES,
    TABLE,
    TABLES,
    TuningJobs,
)
from reconciler.emulator.tuning_jobs.validation import validate_tuning_job

NAME = "google.cloud.aiplatform.v1.GenAiTuningService"
# What a ListTuningJobs filter can look at: a TuningJob has no display_name.
FIELDS = frozenset({"labels", "state"})


class TuningJobService:
    """What every version of GenAiTuningService serves alike: its four methods in its API
    version's types (`api`, its genai_tuning_service module, and `job`, its TuningJob), and
    Get, List and Cancel of every job of the collection. A version brings its store, its
    regions and its create."""

    def __init__(self, state: State, read_object: ReadObject, job_seconds: float, *,
                 api: Any, job: Any, store: JobStore[Any], locations: tuple[str, ...],
                 states: lifecycle.States) -> None:
        self._state = state
        self._read_object = read_object
        self._job_seconds = job_seconds
        self._api = api
        self._job = job
        self._store = store
        self._locations = locations
        self._states = states

    def methods(self) -> list[Method]:
        api, job = self._api, self._job
        return [
            Method("CreateTuningJob", self.create, api.CreateTuningJobRequest.deserialize,
                   job.serialize, droppable=True, submission=True),
            Method("GetTuningJob", self.get, api.GetTuningJobRequest.deserialize,
                   job.serialize),
            Method("ListTuningJobs", self.list, api.ListTuningJobsRequest.deserialize,
                   api.ListTuningJobsResponse.serialize),
            Method("CancelTuningJob", self.cancel, api.CancelTuningJobRequest.deserialize,
                   empty_pb2.Empty.SerializeToString),
        ]

    def create(self, request: Any) -> Any:
        raise NotImplementedError  # each version validates and stores its own kind of job

    def get(self, request: Any) -> Any:
        return self._store.get(JOBS.parse(request.name, self._locations).unversioned)

    def list(self, request: Any) -> Any:
        project, location = parse_parent(request.parent, self._locations)
        matches = kept(self._state, request.filter, FIELDS, self._states.names)
        page, token = self._store.page(parent(project, location), matches, request.page_size,
                                       request.page_token)
        return self._api.ListTuningJobsResponse(tuning_jobs=page, next_page_token=token)

    def cancel(self, request: Any) -> empty_pb2.Empty:
        self._store.cancel(JOBS.parse(request.name, self._locations).unversioned)
        return empty_pb2.Empty()


class GenAiTuningService(TuningJobService):
    def __init__(self, state: State, read_object: ReadObject, job_seconds: float) -> None:
        self._jobs = TuningJobs(state)
        super().__init__(state, read_object, job_seconds, api=genai_tuning_service,
                         job=TuningJob, store=self._jobs, locations=LOCATIONS, states=STATES)

    def create(self, request: genai_tuning_service.CreateTuningJobRequest) -> TuningJob:
        project, location = parse_parent(request.parent, LOCATIONS)
        job = request.tuning_job
        objects = validate_tuning_job(job)
        # The job reads its datasets only once running, so a missing object fails the run,
        # not this call, and bad examples are dropped and counted (tuning_data_stats).
        # Decided now because only this server knows its storage endpoint.
        failure, stats = dataset_stats(objects, self._read_object)
        return self._jobs.create(parent(project, location), location, job, self._job_seconds,
                                 failure=failure, stats=stats)


def _serve(context: Context) -> list[tuple[str, list[Method]]]:
    service = GenAiTuningService(context.state, context.read_object, context.job_seconds)
    return [(NAME, service.methods())]


SERVICE = Service(serve=_serve, tables=TABLES, upgrade=TABLE.upgrade, locations=LOCATIONS,
                  jobs=Jobs(QUOTA, TABLE))
