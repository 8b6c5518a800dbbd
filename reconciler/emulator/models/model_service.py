"""ModelService handlers: GetModel, ListModels, UpdateModel, DeleteModel (not while deployed)."""

from __future__ import annotations

from google.cloud.aiplatform_v1.types.model import Model
from google.cloud.aiplatform_v1.types.model_service import (
    DeleteModelRequest,
    GetModelRequest,
    ListModelsRequest,
    ListModelsResponse,
    UpdateModelRequest,
)
from google.longrunning import operations_pb2

from reconciler.emulator.errors import invalid
from reconciler.emulator.labelrules import validate_labels
from reconciler.emulator.listing import kept
from reconciler.emulator.models.rows import MODELS
from reconciler.emulator.models.store import Models
from reconciler.emulator.names import parent, parse_parent
from reconciler.emulator.paging import check_order_by
from reconciler.emulator.rpc import Method
from reconciler.emulator.service import State

NAME = "google.cloud.aiplatform.v1.ModelService"
UPDATABLE_FIELDS = ("display_name", "description", "labels")
MAX_DISPLAY_NAME = 128
# What a ListModels filter can look at.
FIELDS = frozenset({"labels", "display_name"})


class ModelService:
    def __init__(self, state: State) -> None:
        self._state = state
        self._models = Models(state)
        # Wherever any service's jobs register Models.
        self._locations = state.locations

    def methods(self) -> list[Method]:
        return [
            Method("GetModel", self.get, GetModelRequest.deserialize, Model.serialize),
            Method(
                "ListModels", self.list, ListModelsRequest.deserialize, ListModelsResponse.serialize
            ),
            Method("UpdateModel", self.update, UpdateModelRequest.deserialize, Model.serialize),
            Method(
                "DeleteModel",
                self.delete,
                DeleteModelRequest.deserialize,
                operations_pb2.Operation.SerializeToString,
                submission=True,
            ),
        ]

    def get(self, request: GetModelRequest) -> Model:
        name = MODELS.parse(request.name, self._locations, versions=True)
        return self._models.get(name.unversioned, name.version)

    def list(self, request: ListModelsRequest) -> ListModelsResponse:
        project, location = parse_parent(request.parent, self._locations)
        check_order_by(request.order_by)
        matches = kept(self._state, request.filter, FIELDS)
        page, token = self._models.page(
            parent(project, location), matches, request.page_size, request.page_token
        )
        return ListModelsResponse(models=page, next_page_token=token)

    def update(self, request: UpdateModelRequest) -> Model:
        patch = request.model
        name = MODELS.parse(patch.name, self._locations).unversioned
        paths = list(request.update_mask.paths)
        if not paths:
            raise invalid("update_mask is required")
        unsupported = sorted(set(paths) - set(UPDATABLE_FIELDS))
        if unsupported:
            raise invalid(
                f"update_mask paths {', '.join(unsupported)} cannot be updated; "
                f"updatable: {', '.join(UPDATABLE_FIELDS)}"
            )
        if "display_name" in paths and not 0 < len(patch.display_name) <= MAX_DISPLAY_NAME:
            raise invalid(f"model.display_name must be 1 to {MAX_DISPLAY_NAME} characters")
        if "labels" in paths:
            validate_labels(patch.labels, "model.labels")

        def change(model: Model) -> None:
            if "display_name" in paths:
                model.display_name = patch.display_name
            if "description" in paths:
                model.description = patch.description
            if "labels" in paths:
                model.labels.clear()
                model.labels.update(dict(patch.labels))

        return self._models.update(name, change, labels="labels" in paths)

    def delete(self, request: DeleteModelRequest) -> operations_pb2.Operation:
        return self._models.delete(MODELS.parse(request.name, self._locations).unversioned)
