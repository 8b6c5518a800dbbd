"""google.longrunning.Operations: GetOperation, so LRO futures can poll (ours are born done)."""

from __future__ import annotations

from google.longrunning import operations_pb2

from reconciler.emulator.rpc import Method
from reconciler.emulator.store import EmulatorStore

SERVICE = "google.longrunning.Operations"


class OperationsService:
    def __init__(self, store: EmulatorStore) -> None:
        self._store = store

    def methods(self) -> list[Method]:
        return [
            Method(
                "GetOperation",
                self.get,
                operations_pb2.GetOperationRequest.FromString,
                operations_pb2.Operation.SerializeToString,
            ),
        ]

    def get(self, request: operations_pb2.GetOperationRequest) -> operations_pb2.Operation:
        return self._store.get_operation(request.name)
