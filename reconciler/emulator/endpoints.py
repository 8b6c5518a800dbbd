"""EndpointService handlers: GetEndpoint, ListEndpoints, UndeployModel, DeleteEndpoint.

Endpoints exist here because the tuning pipelines deploy the tuned Model to a new Endpoint by
default (kubeflow/pipelines google_cloud_pipeline_components/_implementation/llm/
deployment_graph.py, deploy_model=True), and a deployed Model cannot be deleted.
"""

from __future__ import annotations

from google.cloud.aiplatform_v1.types import (
    DeleteEndpointRequest,
    Endpoint,
    GetEndpointRequest,
    ListEndpointsRequest,
    ListEndpointsResponse,
    UndeployModelRequest,
)
from google.longrunning import operations_pb2

from reconciler.emulator.filters import MODEL_FIELDS, parse_filter
from reconciler.emulator.names import parse_endpoint_name, parse_parent
from reconciler.emulator.paging import check_order_by
from reconciler.emulator.rpc import Method
from reconciler.emulator.store import EmulatorStore

SERVICE = "google.cloud.aiplatform.v1.EndpointService"
ENDPOINT_FIELDS = MODEL_FIELDS  # labels and display_name, like models


class EndpointService:
    def __init__(self, store: EmulatorStore) -> None:
        self._store = store

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
            Method("UndeployModel", self.undeploy, UndeployModelRequest.deserialize, operation),
            Method("DeleteEndpoint", self.delete, DeleteEndpointRequest.deserialize, operation),
        ]

    def get(self, request: GetEndpointRequest) -> Endpoint:
        parse_endpoint_name(request.name)
        return self._store.get_endpoint(request.name)

    def list(self, request: ListEndpointsRequest) -> ListEndpointsResponse:
        parse_parent(request.parent)
        matches = parse_filter(request.filter, ENDPOINT_FIELDS)
        check_order_by(request.order_by)
        page, token = self._store.list_endpoints(
            request.parent, matches, request.page_size, request.page_token
        )
        return ListEndpointsResponse(endpoints=page, next_page_token=token)

    def undeploy(self, request: UndeployModelRequest) -> operations_pb2.Operation:
        parse_endpoint_name(request.endpoint)
        return self._store.undeploy_model(request.endpoint, request.deployed_model_id)

    def delete(self, request: DeleteEndpointRequest) -> operations_pb2.Operation:
        parse_endpoint_name(request.name)
        return self._store.delete_endpoint(request.name)
