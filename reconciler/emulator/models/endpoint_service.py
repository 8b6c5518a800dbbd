"""EndpointService handlers: GetEndpoint, ListEndpoints, UndeployModel, DeleteEndpoint.

Endpoints exist here because the tuning pipelines deploy the tuned Model to a new Endpoint by
default (kubeflow/pipelines google_cloud_pipeline_components/_implementation/llm/
deployment_graph.py, deploy_model=True), and a deployed Model cannot be deleted.
"""

from __future__ import annotations

from google.cloud.aiplatform_v1.types.endpoint import Endpoint
from google.cloud.aiplatform_v1.types.endpoint_service import (
    DeleteEndpointRequest,
    GetEndpointRequest,
    ListEndpointsRequest,
    ListEndpointsResponse,
    UndeployModelRequest,
)
from google.longrunning import operations_pb2

from reconciler.emulator.listing import kept
from reconciler.emulator.models.model_service import FIELDS as MODEL_FIELDS
from reconciler.emulator.models.rows import ENDPOINTS
from reconciler.emulator.models.store import Endpoints
from reconciler.emulator.names import parent, parse_parent
from reconciler.emulator.paging import check_order_by
from reconciler.emulator.rpc import Method
from reconciler.emulator.service import State

NAME = "google.cloud.aiplatform.v1.EndpointService"
FIELDS = MODEL_FIELDS  # labels and display_name, like models


class EndpointService:
    def __init__(self, state: State) -> None:
        self._state = state
        self._endpoints = Endpoints(state)
        self._locations = state.locations

    def methods(self) -> list[Method]:
        operation = operations_pb2.Operation.SerializeToString
        return [
            Method("GetEndpoint", self.get, GetEndpointRequest.deserialize, Endpoint.serialize),
            Method(
                "ListEndpoints",
                self.list,
                ListEndpointsRequest.deserialize,
                ListEndpointsResponse.serialize,
            ),
            Method("UndeployModel", self.undeploy, UndeployModelRequest.deserialize, operation,
                   submission=True),
            Method("DeleteEndpoint", self.delete, DeleteEndpointRequest.deserialize, operation,
                   submission=True),
        ]

    def get(self, request: GetEndpointRequest) -> Endpoint:
        return self._endpoints.get(ENDPOINTS.parse(request.name, self._locations).unversioned)

    def list(self, request: ListEndpointsRequest) -> ListEndpointsResponse:
        project, location = parse_parent(request.parent, self._locations)
        check_order_by(request.order_by)
        matches = kept(self._state, request.filter, FIELDS)
        page, token = self._endpoints.page(
            parent(project, location), matches, request.page_size, request.page_token
        )
        return ListEndpointsResponse(endpoints=page, next_page_token=token)

    def undeploy(self, request: UndeployModelRequest) -> operations_pb2.Operation:
        endpoint = ENDPOINTS.parse(request.endpoint, self._locations).unversioned
        return self._endpoints.undeploy(endpoint, request.deployed_model_id)

    def delete(self, request: DeleteEndpointRequest) -> operations_pb2.Operation:
        return self._endpoints.delete(ENDPOINTS.parse(request.name, self._locations).unversioned)
