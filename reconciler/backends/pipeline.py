"""The pipeline kind on Vertex AI: PipelineService through its GAPIC client."""

from __future__ import annotations

from typing import Any

from reconciler.backends.adapter import AdapterKind, Context
from reconciler.backends.calls import (
    Caller,
    Created,
    Launched,
    cancel_run,
    check_adoptable,
    observed_job,
    retry_policy,
)
from reconciler.backends.listing import managed_list
from reconciler.core.observed import JobState, ObservedJob, RunOutputs
from reconciler.core.resources import location_of
from reconciler.errors import BackendError
from reconciler.kinds.pipeline import (
    KIND,
    PIPELINE,
    PipelineLaunch,
    observed_inputs,
    observed_metadata,
)

COLLECTION = "pipelineJobs"
_STATES = {
    "PIPELINE_STATE_QUEUED": JobState.QUEUED,
    "PIPELINE_STATE_PENDING": JobState.PENDING,
    "PIPELINE_STATE_RUNNING": JobState.RUNNING,
    "PIPELINE_STATE_PAUSED": JobState.RUNNING,
    "PIPELINE_STATE_SUCCEEDED": JobState.SUCCEEDED,
    "PIPELINE_STATE_FAILED": JobState.FAILED,
    "PIPELINE_STATE_CANCELLING": JobState.CANCELLING,
    "PIPELINE_STATE_CANCELLED": JobState.CANCELLED,
}
# How the SDK finds what a tuning run created (vertexai/language_models/_language_models.py,
# _LanguageModelTuningJob): GetPipelineJob, then in job_detail.task_details the upload task
# (older pipelines: upload-model) and its execution metadata. List results carry no
# job_detail, so this is one Get per run, made only when labels do not already tell.
UPLOAD_TASKS = ("upload-llm-model", "upload-model")
MODEL_OUTPUT = "output:model_resource_name"
ENDPOINT_OUTPUT = "output:endpoint_resource_name"
# Only what observing needs: a real job's pipelineSpec is hundreds of kilobytes.
_JOB_FIELDS = ("name", "state", "labels", "create_time", "runtime_config", "template_uri",
               "error")


# google.protobuf.Value kinds whose Python value proto-plus gives as is.
_SCALARS = frozenset({"string_value", "number_value", "bool_value"})


def _parameters(job: Any, raw: Any) -> dict[str, Any]:
    """A job's parameter values as Python, read from the protobuf where they are scalars
    (all tuneops launches), else converted by proto-plus."""
    values = raw.runtime_config.parameter_values
    kinds = {key: value.WhichOneof("kind") for key, value in values.items()}
    if not _SCALARS.issuperset(kinds.values()):
        return dict(job.runtime_config.parameter_values)
    return {key: getattr(values[key], kind) for key, kind in kinds.items()}


def job_from_proto(job: Any) -> ObservedJob:
    # Read from the protobuf beneath the proto-plus message: its maps convert per access,
    # a tenth of a warm plan of a thousand jobs.
    raw = type(job).pb(job)
    parameters = _parameters(job, raw)
    labels = dict(raw.labels)
    return observed_job(
        job, kind=KIND, state=_STATES.get(job.state.name, JobState.PENDING), labels=labels,
        inputs=observed_inputs(template_uri=raw.template_uri, location=location_of(raw.name),
                               parameters=parameters, labels=labels),
        metadata=observed_metadata(parameters, labels))


def pipeline_job(launch: PipelineLaunch) -> dict[str, Any]:
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


class PipelineJobs:
    """Pipeline jobs of one project, with one client per tuning location."""

    def __init__(self, caller: Caller, clients: dict[str, Any]) -> None:
        self._call = caller
        self._clients = clients

    def _parent(self, location: str) -> str:
        return f"projects/{self._call.project}/locations/{location}"

    def list(self, location: str) -> list[Any]:
        request = {"parent": self._parent(location),
                   "read_mask": {"paths": list(_JOB_FIELDS)}}
        return managed_list(self._call, f"listing pipeline jobs in {location}",
                            self._clients[location].list_pipeline_jobs, request,
                            lambda job: job)

    def read(self, job: Any) -> ObservedJob:
        return job_from_proto(job)

    def create(self, launch: PipelineLaunch) -> Launched:
        from google.api_core import exceptions  # noqa: PLC0415

        client = self._clients[launch.location]
        request = {"parent": self._parent(launch.location), "pipeline_job": pipeline_job(launch),
                   "pipeline_job_id": launch.pipeline_job_id}
        name = f"{self._parent(launch.location)}/pipelineJobs/{launch.pipeline_job_id}"

        def attempt() -> tuple[Created, Any]:
            try:
                self._call.submitting(launch.location)
                return Created.LAUNCHED, client.create_pipeline_job(request=request,
                                                                    retry=retry_policy())
            except exceptions.AlreadyExists:
                return Created.ADOPTED, client.get_pipeline_job(name=name, retry=retry_policy())

        try:
            outcome, created = self._call(f"creating {launch.pipeline_job_id}", attempt)
        except BackendError:
            # Every retry failed, yet one whose response was lost may have created it: say
            # what is true at the end.
            existing = self._existing(name)
            if existing is None:
                raise
            outcome, created = Created.ADOPTED, existing
        job = job_from_proto(created)
        if outcome is Created.ADOPTED:
            check_adoptable(job, launch.labels)
        return Launched(outcome, job)

    def _existing(self, name: str) -> Any:
        from google.api_core import exceptions  # noqa: PLC0415

        client = self._clients[location_of(name)]

        def read() -> Any:
            try:
                return client.get_pipeline_job(name=name, retry=retry_policy())
            except exceptions.NotFound:
                return None

        return self._call(f"reading {name}", read)

    def get(self, resource: str) -> ObservedJob:
        client = self._clients[location_of(resource)]
        return job_from_proto(self._call(f"reading {resource}", lambda: (
            client.get_pipeline_job(name=resource, retry=retry_policy()))))

    def outputs(self, resource: str) -> RunOutputs:
        client = self._clients[location_of(resource)]
        job = self._call(f"reading {resource}", lambda: client.get_pipeline_job(
            name=resource, retry=retry_policy()))
        model = endpoint = None
        for task in job.job_detail.task_details:
            metadata = dict(task.execution.metadata)
            if task.task_name in UPLOAD_TASKS and metadata.get(MODEL_OUTPUT):
                model = str(metadata[MODEL_OUTPUT])
            if metadata.get(ENDPOINT_OUTPUT):
                endpoint = str(metadata[ENDPOINT_OUTPUT])
        return RunOutputs(model=model, endpoint=endpoint)

    def cancel(self, resource: str) -> bool:
        client = self._clients[location_of(resource)]
        return cancel_run(self._call, resource, lambda: client.cancel_pipeline_job(
            name=resource, retry=retry_policy()))


def _adapter(context: Context, clients: dict[str, Any]) -> PipelineJobs:
    return PipelineJobs(context.caller, clients)


ADAPTER = AdapterKind(PIPELINE, service="Pipeline", collection=COLLECTION, make=_adapter)
