"""google.longrunning.Operations: GetOperation, so LRO futures can poll (ours are born done)."""

from __future__ import annotations

from google.longrunning import operations_pb2

from reconciler.emulator.errors import not_found
from reconciler.emulator.rpc import Method
from reconciler.emulator.service import Context, Service, State
from reconciler.emulator.tables import row

NAME = "google.longrunning.Operations"


class OperationsService:
    def __init__(self, state: State) -> None:
        self._state = state

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
        with self._state.db.read() as conn:
            found = row(conn, "operations", request.name)
        if found is None:
            raise not_found(f"operation {request.name} not found")
        return operations_pb2.Operation.FromString(found)


def _serve(context: Context) -> list[tuple[str, list[Method]]]:
    return [(NAME, OperationsService(context.state).methods())]


# The operations table is everyone's (emulator/db.py): any service's call may leave one.
SERVICE = Service(serve=_serve)
