"""Vertex AI through the GAPIC clients of google-cloud-aiplatform (aiplatform_v1).

The high-level SDK downloads templates and takes seconds to import; the GAPIC clients are
imported lazily, on first use, so `reconcile validate` never pays for them. The same code
talks to the embedded emulator over an insecure local channel. Each kind of job has its own
adapter; Models are shared by all kinds.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from reconciler.backends.calls import Caller, Created, retry_policy
from reconciler.backends.pipeline import COLLECTION, PipelineJobs
from reconciler.core import labels as managed
from reconciler.core.observed import Observed, ObservedJob, ObservedModel
from reconciler.kinds import Launch
from reconciler.kinds.pipeline import KIND as PIPELINE
from reconciler.kinds.pipeline import MODEL_REGION, TUNING_LOCATIONS

PAGE_SIZE = 100


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


class VertexBackend:
    """One project; `endpoint` ("host:port") points every call at a local emulator."""

    def __init__(self, project: str, endpoint: str | None = None) -> None:
        self.project = project
        self.endpoint = endpoint
        self._call = Caller(project)

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
                                         for location in TUNING_LOCATIONS})

    @cached_property
    def _models(self) -> Any:
        return self._client("Model", MODEL_REGION)

    def _jobs(self, kind: str) -> PipelineJobs:
        if kind == PIPELINE:
            return self._pipelines
        raise ValueError(f"no backend adapter for job kind {kind!r}")

    def _owner(self, resource: str) -> PipelineJobs:
        """The adapter of a job resource name, by its collection (`.../pipelineJobs/ID`)."""
        collection = resource.rsplit("/", 2)[-2]
        if collection == COLLECTION:
            return self._pipelines
        raise ValueError(f"not a tuning job resource: {resource!r}")

    def observe(self) -> Observed:
        jobs = self._pipelines.list()
        request = {"parent": f"projects/{self.project}/locations/{MODEL_REGION}",
                   "filter": managed.MANAGED_FILTER, "page_size": PAGE_SIZE}
        models = self._call.list("listing models", self._models.list_models, request,
                                 model_from_proto)
        return Observed(jobs=tuple(jobs), models=tuple(models))

    def create(self, launch: Launch) -> tuple[Created, ObservedJob]:
        return self._jobs(launch.kind).create(launch)

    def get(self, resource: str) -> ObservedJob:
        return self._owner(resource).get(resource)

    def cancel(self, resource: str) -> None:
        self._owner(resource).cancel(resource)

    def update_model(self, model: str, *, display_name: str, description: str,
                     labels: dict[str, str]) -> None:
        request = {"model": {"name": model, "display_name": display_name,
                             "description": description, "labels": labels},
                   "update_mask": {"paths": ["display_name", "description", "labels"]}}
        self._call(f"updating {model}", lambda: self._models.update_model(
            request=request, retry=retry_policy()))

    def delete_model(self, model: str) -> None:
        self._call(f"deleting {model}", lambda: self._models.delete_model(
            name=model, retry=retry_policy()).result(timeout=300))
