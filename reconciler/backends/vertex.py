"""Vertex AI through the GAPIC clients of google-cloud-aiplatform (aiplatform_v1).

The high-level SDK downloads templates and takes seconds to import; the GAPIC clients are
imported lazily, on first use, so `reconcile validate` never pays for them. The same code
talks to the embedded emulator over an insecure local channel. Each kind of job has its own
adapter; the Model Registry and Endpoints are shared by all kinds.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cached_property
from typing import Any

from reconciler.backends import pipeline, tuning_job
from reconciler.backends.calls import Caller, Launched
from reconciler.backends.leases import Leases
from reconciler.backends.models import Registry
from reconciler.backends.pipeline import PipelineJobs
from reconciler.backends.records import Bucket, RecordStore
from reconciler.backends.tuning_job import TuningJobs
from reconciler.core import identity
from reconciler.core.identity import key_of, relabel
from reconciler.core.observed import JobState, Observed, ObservedJob, ObservedModel, RunOutputs
from reconciler.kinds import Launch
from reconciler.kinds.pipeline import MODEL_REGION, PipelineLaunch
from reconciler.kinds.pipeline import TUNING_LOCATIONS as PIPELINE_LOCATIONS
from reconciler.kinds.tuning_job import TUNING_LOCATIONS as TUNING_JOB_LOCATIONS
from reconciler.kinds.tuning_job import TuningJobLaunch

# (name, fingerprint) of a desired job.
Wanted = tuple[str, str]
Adapter = PipelineJobs | TuningJobs
# Pipelines upload their Models to us-central1; a TuningJob's Model stays where it tuned.
MODEL_LOCATIONS = tuple(sorted({MODEL_REGION, *TUNING_JOB_LOCATIONS}))


class VertexBackend:
    """One project; `endpoint` ("host:port") points every call at a local emulator.

    What tuneops keeps in the staging bucket (launch leases, records of runs) lives under
    the project id's own prefix, so projects sharing one bucket never share a launch.
    """

    def __init__(self, project: str, endpoint: str | None = None, *, bucket: Bucket,
                 staging: str) -> None:
        self.project = project
        self.endpoint = endpoint
        self._call = Caller(project)
        self._leases = Leases(bucket, f"{staging}/leases/{project}")
        self._records = RecordStore(bucket, f"{staging}/records/{project}")

    def close(self) -> None:
        """Closes the local channel before the emulator stops, so gRPC logs no GOAWAY."""
        if self.endpoint is not None and "_channel" in self.__dict__:
            self._channel.close()

    @cached_property
    def _channel(self) -> Any:
        import grpc  # noqa: PLC0415

        return grpc.insecure_channel(self.endpoint)

    def _client(self, service: str, location: str) -> Any:
        from google.cloud import aiplatform_v1  # noqa: PLC0415

        client_class = getattr(aiplatform_v1, f"{service}ServiceClient")
        if self.endpoint is None:
            return client_class(
                client_options={"api_endpoint": f"{location}-aiplatform.googleapis.com"})
        transport_class = client_class.get_transport_class("grpc")
        return client_class(transport=transport_class(channel=self._channel))

    @cached_property
    def _pipelines(self) -> PipelineJobs:
        return PipelineJobs(self._call, {location: self._client("Pipeline", location)
                                         for location in PIPELINE_LOCATIONS})

    @cached_property
    def _tuning_jobs(self) -> TuningJobs:
        return TuningJobs(self._call, {location: self._client("GenAiTuning", location)
                                       for location in TUNING_JOB_LOCATIONS},
                          self._leases)

    @cached_property
    def registry(self) -> Registry:
        return Registry(self._call,
                        {location: self._client("Model", location)
                         for location in MODEL_LOCATIONS},
                        {location: self._client("Endpoint", location)
                         for location in MODEL_LOCATIONS})

    def _owner(self, resource: str) -> Adapter:
        """The adapter of a job resource name, by its collection (`.../pipelineJobs/ID`)."""
        collection = resource.rsplit("/", 2)[-2]
        if collection == pipeline.COLLECTION:
            return self._pipelines
        if collection == tuning_job.COLLECTION:
            return self._tuning_jobs
        raise ValueError(f"not a tuning job resource: {resource!r}")

    def observe(self, wanted: Collection[Wanted] = ()) -> Observed:
        """Managed jobs and labelled Models, one list call each, under the names and with
        the cancels the staging bucket records (one list call); then, for the latest
        succeeded run of a `wanted` job whose Model carries no tuneops labels, that Model
        found through the run itself (a tuning pipeline may not copy its labels)."""
        jobs = self._pipelines.list() + self._tuning_jobs.list()
        observed = relabel(Observed(jobs=tuple(jobs), models=tuple(self.registry.labelled())),
                           self._records.read())
        labelled = {(m.name, m.fingerprint) for m in observed.models}
        runs: dict[Wanted, ObservedJob] = {}
        for job in observed.jobs:
            key = (job.name, job.fingerprint)
            if job.state == JobState.SUCCEEDED and (
                    key not in runs or job.attempt > runs[key].attempt):
                runs[key] = job
        found = [self._model_of(runs[key]) for key in sorted(set(wanted) & runs.keys())
                 if key not in labelled]
        return Observed(jobs=observed.jobs, models=(
            *observed.models, *(model for model in found if model is not None)))

    def _model_of(self, run: ObservedJob) -> ObservedModel | None:
        model = self.outputs(run.resource).model
        if model is None:
            return None
        return self.registry.get(model, name=run.name, fingerprint=run.fingerprint,
                                 attempt=run.attempt)

    def rename(self, resources: Collection[str], name: str) -> None:
        """Records that these runs now belong to `name` (their labels cannot change)."""
        for resource in resources:
            self._records.write(key_of(self.get(resource)), identity.NAME, name)

    def create(self, launch: Launch) -> Launched:
        match launch:
            case PipelineLaunch():
                return self._pipelines.create(launch)
            case TuningJobLaunch():
                return self._tuning_jobs.create(launch)
            case _:
                raise TypeError(f"no backend adapter for {launch!r}")

    def get(self, resource: str) -> ObservedJob:
        return self._owner(resource).get(resource)

    def outputs(self, resource: str) -> RunOutputs:
        return self._owner(resource).outputs(resource)

    def cancel(self, resource: str, *, reason: str = "") -> bool:
        """Cancels a run (False: it had already ended). With a `reason`, records first that
        tuneops cancelled it and why, so that its end is never taken for a failure."""
        if reason:
            self._records.write(key_of(self.get(resource)), identity.CANCELLED, reason)
        return self._owner(resource).cancel(resource)
