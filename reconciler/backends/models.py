"""The Model Registry and Endpoints: what every kind of tuning job leaves behind.

Undeploying, deleting an endpoint and deleting a Model are long-running operations that take
minutes; one that outlasts TUNEOPS_OPERATION_SECONDS is that action's failure (it goes on in
Vertex AI), never the end of an apply. Two refusals are undocumented, and recorded in the
staging bucket when met so that every plan after knows: UpdateModel refusing a tuned Gemini
Model's labels (tuneops then writes only its display name and description), and DeleteModel
refusing to delete one ("A tuned Gemini model can't be deleted from Vertex AI Model
Registry", a known issue Google once listed): its endpoints are gone, so it costs nothing
idle, and tuneops keeps it as retired instead of failing every prune on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from reconciler.backends.calls import Caller, described, retry_policy
from reconciler.backends.leases import seconds
from reconciler.backends.listing import each_location, managed_list
from reconciler.backends.records import RecordStore
from reconciler.core import labels as managed
from reconciler.core.identity import LABELS_REFUSED, RETIRED
from reconciler.core.observed import ObservedModel
from reconciler.core.resources import location_of, parse
from reconciler.core.runkey import ModelKey
from reconciler.errors import BackendError

OPERATION_ENV = "TUNEOPS_OPERATION_SECONDS"
# How long one operation is waited for: the real ones take minutes.
DEFAULT_OPERATION_SECONDS = 300.0
LABELS = "labels"


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


def _waited(what: str, operation: Any) -> None:
    """Waits for a long-running operation; one still running past the deadline is this
    call's failure, saying what to do."""
    limit = seconds(OPERATION_ENV, DEFAULT_OPERATION_SECONDS)
    try:
        operation.result(timeout=limit)
    except TimeoutError:
        raise BackendError(f"{what}: still running after {limit:g} s; it goes on in Vertex "
                           "AI: run the same apply again once it has finished (raise "
                           f"{OPERATION_ENV} to wait longer)") from None


class Registry:
    """Models and Endpoints of one project, in each region where tuned models register
    (pipelines upload to us-central1; a TuningJob's Model lives where it tuned)."""

    def __init__(self, caller: Caller, models: dict[str, Any],
                 endpoints: Callable[[str], Any], records: RecordStore) -> None:
        self._call = caller
        self._models = models
        self._endpoints = endpoints
        self._records = records

    def _model_client(self, resource: str) -> Any:
        return self._models[location_of(resource)]

    def _endpoint_client(self, resource: str) -> Any:
        return self._endpoints(location_of(resource))

    def _labelled_in(self, location: str) -> list[ObservedModel]:
        request = {"parent": f"projects/{self._call.project}/locations/{location}"}
        return managed_list(self._call, f"listing models in {location}",
                            self._models[location].list_models, request, model_from_proto)

    def labelled(self) -> list[ObservedModel]:
        return each_location(self._models, self._labelled_in)

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
        if found is None:
            return None
        observed = model_from_proto(found, name=name, fingerprint=fingerprint, attempt=attempt)
        return replace(observed, via_run=not observed.all_labels.get(managed.NAME))

    def update(self, model: str, *, display_name: str, description: str,
               labels: dict[str, str] | None) -> str:
        """Writes the Model's metadata; "" when done, else what the service refused. Labels
        it refuses (a tuned Gemini Model's, perhaps: undocumented) are recorded as refused,
        and the rest is written without them; `labels` None writes none."""
        from google.api_core import exceptions  # noqa: PLC0415

        paths = ["display_name", "description"] + ([LABELS] if labels is not None else [])

        def write(fields: list[str]) -> Any:
            body = {"name": model, "display_name": display_name, "description": description,
                    **({LABELS: labels} if LABELS in fields else {})}
            return self._model_client(model).update_model(
                request={"model": body, "update_mask": {"paths": fields}},
                retry=retry_policy())

        def attempt() -> str:
            try:
                write(paths)
            except (exceptions.InvalidArgument, exceptions.FailedPrecondition) as error:
                if LABELS not in paths:
                    raise
                write([path for path in paths if path != LABELS])
                return described(error)
            return ""

        refused = self._call(f"updating {model}", attempt)
        if refused:
            self._records.write(ModelKey.of(model), LABELS_REFUSED, refused[:200] or "refused")
        return refused

    def delete(self, model: str) -> bool:
        """Deletes a Model that serves nothing; False when the service refuses to (and it is
        recorded as retired)."""
        from google.api_core import exceptions  # noqa: PLC0415

        def attempt() -> str:
            try:
                self._call.submitting(location_of(model))
                _waited(f"deleting {model}", self._model_client(model).delete_model(
                    name=model, retry=retry_policy()))
            except (exceptions.FailedPrecondition, exceptions.InvalidArgument) as error:
                return described(error)
            return ""

        refused = self._call(f"deleting {model}", attempt)
        if refused:
            self._records.write(ModelKey.of(model), RETIRED, refused[:200])
        return not refused

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

    def deployments(self, model: str) -> list[tuple[str, str]]:
        """(endpoint, deployed model id) of each place the Model serves."""
        found = self._call(f"reading {model}", lambda: self._model_client(model).get_model(
            name=model, retry=retry_policy()))
        return [(ref.endpoint, ref.deployed_model_id) for ref in found.deployed_models]

    def undeploy(self, endpoint: str, deployed_model_id: str) -> None:
        what = f"undeploying {deployed_model_id} from {endpoint}"
        self._call.submitting(location_of(endpoint))
        self._call(what, lambda: _waited(what, self._endpoint_client(endpoint).undeploy_model(
            endpoint=endpoint, deployed_model_id=deployed_model_id, retry=retry_policy())))

    def serves_nothing(self, endpoint: str) -> bool | None:
        """Whether the endpoint serves no model (None: it is gone)."""
        from google.api_core import exceptions  # noqa: PLC0415

        def read() -> Any:
            try:
                return self._endpoint_client(endpoint).get_endpoint(name=endpoint,
                                                                    retry=retry_policy())
            except exceptions.NotFound:
                return None

        found = self._call(f"reading {endpoint}", read)
        return None if found is None else not found.deployed_models

    def delete_endpoint(self, endpoint: str) -> None:
        what = f"deleting {endpoint}"
        self._call.submitting(location_of(endpoint))
        self._call(what, lambda: _waited(what, self._endpoint_client(endpoint).delete_endpoint(
            name=endpoint, retry=retry_policy())))
