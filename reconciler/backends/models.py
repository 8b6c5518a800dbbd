"""The Model Registry and Endpoints: what every kind of tuning job leaves behind."""

from __future__ import annotations

from typing import Any

from reconciler.backends.calls import Caller, retry_policy
from reconciler.core import labels as managed
from reconciler.core.observed import ObservedModel
from reconciler.core.resources import location_of, parse

PAGE_SIZE = 100
# Model and Endpoint deletions and undeployments are long-running operations.
OPERATION_SECONDS = 300


def model_from_proto(model: Any, *, name: str = "", fingerprint: str = "",
                     attempt: int = 0) -> ObservedModel:
    """A Model as planning sees it; `name`, `fingerprint` and `attempt` (those of the run
    that made it) stand in for labels it lacks."""
    labels = dict(model.labels)
    label = labels.get(managed.ATTEMPT, "")
    return ObservedModel(
        resource=model.name,
        name=labels.get(managed.NAME, name),
        fingerprint=labels.get(managed.FINGERPRINT, fingerprint),
        display_name=model.display_name,
        description=model.description,
        labels=managed.user_labels(labels),
        all_labels=dict(sorted(labels.items())),
        endpoints=tuple(sorted({ref.endpoint for ref in model.deployed_models})),
        attempt=int(label) if label.isdigit() else attempt,
    )


class Registry:
    """Models and Endpoints of one project, in each region where tuned models register
    (pipelines upload to us-central1; a TuningJob's Model lives where it tuned)."""

    def __init__(self, caller: Caller, models: dict[str, Any], endpoints: dict[str, Any]
                 ) -> None:
        self._call = caller
        self._models = models
        self._endpoints = endpoints

    def _model_client(self, resource: str) -> Any:
        return self._models[location_of(resource)]

    def _endpoint_client(self, resource: str) -> Any:
        return self._endpoints[location_of(resource)]

    def labelled(self) -> list[ObservedModel]:
        found: list[ObservedModel] = []
        for location, client in self._models.items():
            request = {"parent": f"projects/{self._call.project}/locations/{location}",
                       "filter": managed.MANAGED_FILTER, "page_size": PAGE_SIZE}
            found += self._call.list(f"listing models in {location}", client.list_models,
                                     request, model_from_proto)
        return found

    def get(self, model: str, *, name: str, fingerprint: str, attempt: int = 0
            ) -> ObservedModel | None:
        """The Model, or None if it is gone."""
        from google.api_core import exceptions  # noqa: PLC0415

        def read() -> Any:
            try:
                return self._model_client(model).get_model(name=parse(model).unversioned,
                                                           retry=retry_policy())
            except exceptions.NotFound:
                return None

        found = self._call(f"reading {model}", read)
        return None if found is None else model_from_proto(
            found, name=name, fingerprint=fingerprint, attempt=attempt)

    def update(self, model: str, *, display_name: str, description: str,
               labels: dict[str, str]) -> None:
        request = {"model": {"name": model, "display_name": display_name,
                             "description": description, "labels": labels},
                   "update_mask": {"paths": ["display_name", "description", "labels"]}}
        self._call(f"updating {model}", lambda: self._model_client(model).update_model(
            request=request, retry=retry_policy()))

    def relabel(self, model: str, *, add: dict[str, str], drop: tuple[str, ...] = ()) -> None:
        """Sets and removes labels, keeping every other (UpdateModel replaces the map)."""
        found = self._call(f"reading {model}", lambda: self._model_client(model).get_model(
            name=parse(model).unversioned, retry=retry_policy()))
        labels = {key: value for key, value in found.labels.items() if key not in drop}
        labels.update(add)
        request = {"model": {"name": found.name, "labels": labels},
                   "update_mask": {"paths": ["labels"]}}
        self._call(f"updating {model}", lambda: self._model_client(model).update_model(
            request=request, retry=retry_policy()))

    def delete(self, model: str) -> None:
        self._call(f"deleting {model}", lambda: self._model_client(model).delete_model(
            name=model, retry=retry_policy()).result(timeout=OPERATION_SECONDS))

    def deployments(self, model: str) -> list[tuple[str, str]]:
        """(endpoint, deployed model id) of each place the Model serves."""
        found = self._call(f"reading {model}", lambda: self._model_client(model).get_model(
            name=model, retry=retry_policy()))
        return [(ref.endpoint, ref.deployed_model_id) for ref in found.deployed_models]

    def undeploy(self, endpoint: str, deployed_model_id: str) -> None:
        self._call(f"undeploying {deployed_model_id} from {endpoint}", lambda: (
            self._endpoint_client(endpoint).undeploy_model(
                endpoint=endpoint, deployed_model_id=deployed_model_id, retry=retry_policy(),
            ).result(timeout=OPERATION_SECONDS)))

    def serves_nothing(self, endpoint: str) -> bool:
        found = self._call(f"reading {endpoint}", lambda: self._endpoint_client(
            endpoint).get_endpoint(name=endpoint, retry=retry_policy()))
        return not found.deployed_models

    def delete_endpoint(self, endpoint: str) -> None:
        self._call(f"deleting {endpoint}", lambda: self._endpoint_client(
            endpoint).delete_endpoint(name=endpoint, retry=retry_policy()).result(
                timeout=OPERATION_SECONDS))
