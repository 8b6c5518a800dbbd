"""The Model Registry and Endpoints: what every service's succeeded jobs register.

Every read first advances every service's unfinished jobs (State.advance_jobs) inside the
same write transaction, so a Model a job has left by now is there, whoever reads first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

import grpc
from google.cloud.aiplatform_v1.types.deployed_model_ref import DeployedModelRef
from google.cloud.aiplatform_v1.types.endpoint import DeployedModel, Endpoint
from google.cloud.aiplatform_v1.types.endpoint_service import (
    UndeployModelOperationMetadata,
    UndeployModelResponse,
)
from google.cloud.aiplatform_v1.types.model import Model, ModelSourceInfo
from google.cloud.aiplatform_v1.types.operation import DeleteOperationMetadata
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2

from reconciler.emulator import clock
from reconciler.emulator.errors import EmulatorError, invalid, not_found
from reconciler.emulator.filters import Subject
from reconciler.emulator.ids import next_id
from reconciler.emulator.models.rows import (
    DEPLOYED_MODEL,
    ENDPOINT,
    ENDPOINTS,
    load_endpoint,
    load_model,
    save_endpoint,
    save_model,
)
from reconciler.emulator.names import split
from reconciler.emulator.paging import decode_token, page_size, take_page
from reconciler.emulator.service import State
from reconciler.emulator.tables import newest_first, operation, row, stored_quirks

Keep = Callable[[Subject], bool]  # a List request's filter
# ModelSourceInfo.ModelSourceType.GENIE, "The Model is saved or tuned from Genie"
# (model.proto): which source a tuned Gemini Model reports is undocumented; the emulator marks
# the Models its tuning jobs register so, and the switches about tuned Gemini Models
# (quirks.update_model_labels, delete_tuned_model) apply to exactly those.
TUNED_GEMINI = ModelSourceInfo.ModelSourceType.GENIE


def tuned_gemini(model: Model) -> bool:
    return model.model_source_info.source_type == TUNED_GEMINI
# A Model or an Endpoint (proto-plus).
R = TypeVar("R", Model, Endpoint)


class _Registered(Generic[R]):
    """What Models and Endpoints both offer: listing, one page or all of them."""

    def __init__(self, state: State, table: str, message: type[R]) -> None:
        self._state = state
        self._db = state.db
        self._table = table
        self._message: type[R] = message

    def page(self, parent: str, keep: Keep, size: int, token: str) -> tuple[list[R], str]:
        """One page of `parent`'s resources passing `keep`, newest first, and the next token."""
        after = decode_token(token)
        with self._db.write() as conn:
            size = page_size(size, stored_quirks(conn))
            self._state.advance_jobs(conn)
            rows = newest_first(conn, self._table, "labels, display_name, proto, create_time",
                                parent, after)
            page, next_token = take_page(
                rows, lambda r: keep(Subject(json.loads(r[0]), r[1], create_time=r[3])), size
            )
            return [self._message.deserialize(r[2]) for r in page], next_token

    def all(self) -> list[R]:
        """Every one (after advancing jobs), ordered by create time then name."""
        with self._db.write() as conn:
            self._state.advance_jobs(conn)
            rows = conn.execute(f"SELECT proto FROM {self._table} ORDER BY create_time, name")
            return [self._message.deserialize(proto) for (proto,) in rows]


class Models(_Registered[Model]):
    def __init__(self, state: State) -> None:
        super().__init__(state, "models", Model)

    def get(self, name: str, version: str | None = None) -> Model:
        """The model; with `version`, only if that is its version id or one of its aliases
        (every model here has the one version 1, alias "default")."""
        with self._db.write() as conn:
            self._state.advance_jobs(conn)
            model = load_model(conn, name)
        if version is not None and version not in (model.version_id, *model.version_aliases):
            raise not_found(f"model {name}@{version} not found")
        return model

    def update(self, name: str, change: Callable[[Model], None], *, labels: bool = False
               ) -> Model:
        """Applies `change` (that sets `labels` too, if so) to the stored model and stamps
        update_time."""
        with self._db.write() as conn:
            self._state.advance_jobs(conn)
            model = load_model(conn, name)
            if labels and tuned_gemini(model) and not stored_quirks(conn).update_model_labels:
                raise invalid(f"model.labels: the labels of tuned Gemini model {name} cannot "
                              "be updated")
            change(model)
            model.update_time = clock.to_timestamp(clock.clock_now(conn))
            save_model(conn, model)
            return model

    def delete(self, name: str) -> operations_pb2.Operation:
        """Deletes an undeployed model; returns the already-done delete operation (also stored)."""
        with self._db.write() as conn:
            self._state.advance_jobs(conn)
            model = load_model(conn, name)
            if model.deployed_models:
                # The real DeleteModel refuses the same way, listing the endpoints.
                endpoints = ", ".join(ref.endpoint for ref in model.deployed_models)
                raise EmulatorError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"The model {name} is deployed or being deployed at the following "
                    f"Endpoints: {endpoints}",
                )
            if tuned_gemini(model) and not stored_quirks(conn).delete_tuned_model:
                raise EmulatorError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"A tuned Gemini model can't be deleted from Vertex AI Model Registry "
                    f"({name})",
                )
            conn.execute("DELETE FROM models WHERE name = ?", (name,))
            return operation(conn, name, DeleteOperationMetadata, empty_pb2.Empty())

    def delete_outside(self, name: str) -> None:
        """Deletes a model as a console user would (no RPC, no call count): for drift tests.

        The console cannot delete a deployed model either, so like a user this first
        undeploys it from every endpoint (the endpoints stay).
        """
        endpoints = Endpoints(self._state)
        for ref in self.get(name).deployed_models:
            endpoints.undeploy(ref.endpoint, ref.deployed_model_id)
        self.delete(name)

    def edit_outside(
        self, name: str, display_name: str | None = None, labels: Mapping[str, str] | None = None
    ) -> Model:
        """Edits a model as a console user would (no RPC, no call count): for drift tests."""

        def change(model: Model) -> None:
            if display_name is not None:
                model.display_name = display_name
            if labels is not None:
                model.labels.clear()
                model.labels.update(labels)

        return self.update(name, change)

    def deploy_outside(self, model_name: str, endpoint_name: str | None = None) -> str:
        """Deploys a Model as a console user would (no RPC): onto `endpoint_name`, or onto a
        new endpoint that no run created. For tests of what prune must leave alone."""
        with self._db.write() as conn:
            self._state.advance_jobs(conn)
            model = load_model(conn, model_name)
            deployed_id = str(next_id(conn, DEPLOYED_MODEL))
            now = clock.to_timestamp(clock.clock_now(conn))
            new = endpoint_name is None
            if endpoint_name is None:
                endpoint_name = ENDPOINTS.name(split(model_name).parent, next_id(conn, ENDPOINT))
                endpoint = Endpoint(name=endpoint_name, display_name="deployed by hand",
                                    create_time=now)
            else:
                endpoint = load_endpoint(conn, endpoint_name)
            endpoint.deployed_models.append(DeployedModel(
                id=deployed_id, model=model.name, model_version_id=model.version_id,
                display_name=model.display_name, create_time=now,
                automatic_resources={"min_replica_count": 1, "max_replica_count": 1}))
            endpoint.update_time = now
            save_endpoint(conn, endpoint, create_time=clock.clock_now(conn) if new else None)
            model.deployed_models.append(DeployedModelRef(endpoint=endpoint_name,
                                                          deployed_model_id=deployed_id))
            save_model(conn, model)
            return endpoint_name


class Endpoints(_Registered[Endpoint]):
    def __init__(self, state: State) -> None:
        super().__init__(state, "endpoints", Endpoint)

    def get(self, name: str) -> Endpoint:
        with self._db.write() as conn:
            self._state.advance_jobs(conn)
            return load_endpoint(conn, name)

    def undeploy(self, endpoint_name: str, deployed_model_id: str) -> operations_pb2.Operation:
        """Removes the deployment from the endpoint and from its Model's deployed_models.

        Endpoints here only ever hold the one deployment their run made (there is no
        DeployModel), so the traffic rules for several deployments never arise: undeploying
        the last one leaves the split empty (endpoint_service.proto, UndeployModelRequest).
        """
        with self._db.write() as conn:
            self._state.advance_jobs(conn)
            endpoint = load_endpoint(conn, endpoint_name)
            deployed = {d.id: d for d in endpoint.deployed_models}
            if deployed_model_id not in deployed:
                raise not_found(
                    f"deployed model {deployed_model_id} not found on endpoint {endpoint_name}"
                )
            model_name = deployed[deployed_model_id].model
            del endpoint.deployed_models[list(deployed).index(deployed_model_id)]
            traffic = {k: v for k, v in endpoint.traffic_split.items() if k != deployed_model_id}
            endpoint.traffic_split.clear()
            endpoint.traffic_split.update(traffic)
            endpoint.update_time = clock.to_timestamp(clock.clock_now(conn))
            save_endpoint(conn, endpoint)
            if row(conn, "models", model_name) is not None:
                model = load_model(conn, model_name)
                refs = [
                    r for r in model.deployed_models
                    if (r.endpoint, r.deployed_model_id) != (endpoint_name, deployed_model_id)
                ]
                del model.deployed_models[:]
                model.deployed_models.extend(refs)
                save_model(conn, model)
            return operation(
                conn, endpoint_name, UndeployModelOperationMetadata,
                UndeployModelResponse.pb(UndeployModelResponse()),
            )

    def delete(self, name: str) -> operations_pb2.Operation:
        with self._db.write() as conn:
            self._state.advance_jobs(conn)
            endpoint = load_endpoint(conn, name)
            if endpoint.deployed_models:
                ids = ", ".join(d.id for d in endpoint.deployed_models)
                raise EmulatorError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"endpoint {name} still has deployed models ({ids}); undeploy them first",
                )
            conn.execute("DELETE FROM endpoints WHERE name = ?", (name,))
            return operation(conn, name, DeleteOperationMetadata, empty_pb2.Empty())
