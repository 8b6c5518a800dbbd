"""Vertex AI through the GAPIC clients of google-cloud-aiplatform (aiplatform_v1).

The high-level SDK downloads templates and takes seconds to import; the GAPIC clients are
imported lazily, on first use, so `reconcile validate` never pays for them. The same code
talks to the embedded emulator over an insecure local channel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any, TypeVar

from reconciler.backends.base import Created
from reconciler.core import labels as managed
from reconciler.core.observed import JobState, Observed, ObservedJob, ObservedModel
from reconciler.errors import BackendError
from reconciler.kinds.pipeline import LaunchSpec, observed_inputs, observed_metadata
from reconciler.reference import MODEL_REGION, TUNING_LOCATIONS

T = TypeVar("T")
PAGE_SIZE = 100
_STATES = {
    "PIPELINE_STATE_QUEUED": JobState.PENDING,
    "PIPELINE_STATE_PENDING": JobState.PENDING,
    "PIPELINE_STATE_RUNNING": JobState.RUNNING,
    "PIPELINE_STATE_PAUSED": JobState.RUNNING,
    "PIPELINE_STATE_SUCCEEDED": JobState.SUCCEEDED,
    "PIPELINE_STATE_FAILED": JobState.FAILED,
    "PIPELINE_STATE_CANCELLING": JobState.CANCELLING,
    "PIPELINE_STATE_CANCELLED": JobState.CANCELLED,
}
# Only what observing needs: a real job's pipelineSpec is hundreds of kilobytes.
_JOB_FIELDS = "name,state,labels,create_time,runtime_config,template_uri,error"


def _retry() -> Any:
    """GAPIC create/list carry no default retry, and api-core's default skips DEADLINE_EXCEEDED.

    Only transient codes are retried, with capped exponential backoff and jitter; a create
    is retried with the same pipeline_job_id, so a lost response resolves as ALREADY_EXISTS.
    """
    from google.api_core import exceptions, retry  # noqa: PLC0415

    return retry.Retry(
        predicate=retry.if_exception_type(
            exceptions.ServiceUnavailable,
            exceptions.TooManyRequests,
            exceptions.ResourceExhausted,
            exceptions.DeadlineExceeded,
            exceptions.InternalServerError,
        ),
        initial=0.2,
        maximum=5.0,
        multiplier=2.0,
        timeout=60.0,
    )


def _location_of(resource: str) -> str:
    return resource.split("/")[3]


def job_from_proto(job: Any) -> ObservedJob:
    parameters = dict(job.runtime_config.parameter_values)
    labels = dict(job.labels)
    return ObservedJob(
        job_id=job.name.rsplit("/", 1)[-1],
        resource=job.name,
        name=labels.get(managed.NAME, ""),
        fingerprint=labels.get(managed.FINGERPRINT, ""),
        state=_STATES.get(job.state.name, JobState.PENDING),
        create_time=job.create_time.isoformat() if job.create_time else "",
        inputs=observed_inputs(template_uri=job.template_uri, location=_location_of(job.name),
                               parameters=parameters, labels=labels),
        metadata=observed_metadata(parameters, labels),
        commit=labels.get(managed.COMMIT, ""),
        error=job.error.message,
    )


def model_from_proto(model: Any) -> ObservedModel:
    labels = dict(model.labels)
    return ObservedModel(
        resource=model.name,
        name=labels.get(managed.NAME, ""),
        fingerprint=labels.get(managed.FINGERPRINT, ""),
        display_name=model.display_name,
        description=model.description,
        labels=managed.user_labels(labels),
        all_labels=dict(sorted(labels.items())),
    )


def pipeline_job(launch: LaunchSpec) -> dict[str, Any]:
    """The reference's request body (pipelineJobs.create), as the GAPIC client takes it."""
    job: dict[str, Any] = {
        "display_name": launch.display_name,
        "template_uri": launch.template_uri,
        "labels": launch.labels,
        "runtime_config": {"gcs_output_directory": launch.output_directory,
                           "parameter_values": launch.parameters},
    }
    if launch.kms_key_name:
        job["encryption_spec"] = {"kms_key_name": launch.kms_key_name}
    return job


class VertexBackend:
    """One project; `endpoint` ("host:port") points every call at a local emulator."""

    def __init__(self, project: str, endpoint: str | None = None) -> None:
        self.project = project
        self.endpoint = endpoint

    def close(self) -> None:
        """Closes the local channel before the emulator stops, so gRPC logs no GOAWAY."""
        if self.endpoint is not None and "_channel" in self.__dict__:
            self._channel.close()

    def _parent(self, location: str) -> str:
        return f"projects/{self.project}/locations/{location}"

    @cached_property
    def _channel(self) -> Any:
        import grpc  # noqa: PLC0415

        return grpc.insecure_channel(self.endpoint)

    def _client(self, kind: str, location: str) -> Any:
        from google.cloud import aiplatform_v1  # noqa: PLC0415

        client_class = getattr(aiplatform_v1, f"{kind}ServiceClient")
        if self.endpoint is None:
            return client_class(
                client_options={"api_endpoint": f"{location}-aiplatform.googleapis.com"})
        transport_class = client_class.get_transport_class("grpc")
        return client_class(transport=transport_class(channel=self._channel))

    @cached_property
    def _pipelines(self) -> dict[str, Any]:
        return {location: self._client("Pipeline", location) for location in TUNING_LOCATIONS}

    @cached_property
    def _models(self) -> Any:
        return self._client("Model", MODEL_REGION)

    def _call(self, what: str, call: Callable[[], T]) -> T:
        from google.api_core import exceptions  # noqa: PLC0415

        try:
            return call()
        except exceptions.GoogleAPICallError as error:
            raise BackendError(f"{what}: {error.message or error}") from None
        except exceptions.RetryError as error:
            raise BackendError(f"{what}: gave up after retries: {error.cause}") from None

    def _list(self, what: str, method: Callable[..., Iterable[Any]], request: dict[str, Any],
              convert: Callable[[Any], T]) -> list[T]:
        """Every page of one list call; the pager fetches the next page as it is iterated."""
        return self._call(what, lambda: [convert(item)
                                         for item in method(request=request, retry=_retry())])

    def observe(self) -> Observed:
        jobs: list[ObservedJob] = []
        for location, client in self._pipelines.items():
            request = {"parent": self._parent(location), "filter": managed.MANAGED_FILTER,
                       "page_size": PAGE_SIZE, "read_mask": {"paths": _JOB_FIELDS.split(",")}}
            jobs += self._list(f"listing pipeline jobs in {location}",
                               client.list_pipeline_jobs, request, job_from_proto)
        request = {"parent": self._parent(MODEL_REGION), "filter": managed.MANAGED_FILTER,
                   "page_size": PAGE_SIZE}
        models = self._list("listing models", self._models.list_models, request,
                            model_from_proto)
        return Observed(jobs=tuple(jobs), models=tuple(models))

    def create(self, launch: LaunchSpec) -> tuple[Created, ObservedJob]:
        from google.api_core import exceptions  # noqa: PLC0415

        client = self._pipelines[launch.location]
        request = {"parent": self._parent(launch.location), "pipeline_job": pipeline_job(launch),
                   "pipeline_job_id": launch.pipeline_job_id}
        name = f"{self._parent(launch.location)}/pipelineJobs/{launch.pipeline_job_id}"

        def attempt() -> tuple[Created, Any]:
            try:
                return Created.LAUNCHED, client.create_pipeline_job(request=request,
                                                                    retry=_retry())
            except exceptions.AlreadyExists:
                return Created.ADOPTED, client.get_pipeline_job(name=name, retry=_retry())

        outcome, created = self._call(f"creating {launch.pipeline_job_id}", attempt)
        return outcome, job_from_proto(created)

    def get(self, location: str, job_id: str) -> ObservedJob:
        client = self._pipelines[location]
        name = f"{self._parent(location)}/pipelineJobs/{job_id}"
        return job_from_proto(self._call(f"reading {job_id}", lambda: (
            client.get_pipeline_job(name=name, retry=_retry()))))

    def cancel(self, resource: str) -> None:
        client = self._pipelines[_location_of(resource)]
        self._call(f"cancelling {resource}", lambda: client.cancel_pipeline_job(
            name=resource, retry=_retry()))

    def update_model(self, model: str, *, display_name: str, description: str,
                     labels: dict[str, str]) -> None:
        request = {"model": {"name": model, "display_name": display_name,
                             "description": description, "labels": labels},
                   "update_mask": {"paths": ["display_name", "description", "labels"]}}
        self._call(f"updating {model}", lambda: self._models.update_model(
            request=request, retry=_retry()))

    def delete_model(self, model: str) -> None:
        self._call(f"deleting {model}", lambda: self._models.delete_model(
            name=model, retry=_retry()).result(timeout=300))
