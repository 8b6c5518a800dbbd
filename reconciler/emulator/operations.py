"""google.longrunning.Operations: GetOperation, so LRO futures can poll (tables.operation)."""

from __future__ import annotations

import sqlite3

from google.longrunning import operations_pb2

from reconciler.emulator import clock
from reconciler.emulator.db import add_column
from reconciler.emulator.errors import not_found
from reconciler.emulator.rpc import Method
from reconciler.emulator.service import Context, Service, State
from reconciler.emulator.tables import operation_at

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
            found = conn.execute("SELECT proto, done_at FROM operations WHERE name = ?",
                                 (request.name,)).fetchone()
            now = clock.clock_now(conn)
        if found is None:
            raise not_found(f"operation {request.name} not found")
        return operation_at(operations_pb2.Operation.FromString(found[0]), now, found[1])


def _serve(context: Context) -> list[tuple[str, list[Method]]]:
    return [(NAME, OperationsService(context.state).methods())]


def _upgrade(conn: sqlite3.Connection) -> None:
    """Operations stored before they could take time have no `done_at`: they are done."""
    add_column(conn, "operations", "done_at", "REAL")


# The operations table is everyone's (emulator/db.py): any service's call may leave one.
SERVICE = Service(serve=_serve, upgrade=_upgrade)
