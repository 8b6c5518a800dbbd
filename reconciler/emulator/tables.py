"""Row-level helpers every service's store shares: lookups, counters, list scans, operations.

Every function takes an open connection, so callers compose them inside one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from typing import Any

from google.cloud.aiplatform_v1.types.operation import GenericOperationMetadata
from google.longrunning import operations_pb2
from google.protobuf import any_pb2

from reconciler.emulator import clock
from reconciler.emulator.db import get_setting, put_setting
from reconciler.emulator.faults import FAULTS_KEY, Faults
from reconciler.emulator.paging import SortKey
from reconciler.emulator.quirks import QUIRKS_KEY, Quirks

_OPERATION_ID_KEY = "next_operation_id"


def row(conn: sqlite3.Connection, table: str, name: str) -> bytes | None:
    found = conn.execute(f"SELECT proto FROM {table} WHERE name = ?", (name,)).fetchone()
    return None if found is None else bytes(found[0])


def next_counter(conn: sqlite3.Connection, key: str, first: int) -> int:
    current = get_setting(conn, key)
    value = int(current) if current is not None else first
    put_setting(conn, key, str(value + 1))
    return value


def stored_quirks(conn: sqlite3.Connection) -> Quirks:
    return Quirks.from_json(get_setting(conn, QUIRKS_KEY))


def labels_json(labels: Mapping[str, str]) -> str:
    return json.dumps(dict(labels), sort_keys=True)


def newest_first(
    conn: sqlite3.Connection, table: str, columns: str, parent: str, after: SortKey | None
) -> Iterator[tuple[SortKey, tuple[Any, ...]]]:
    """Rows of `parent` in list order (create_time desc, name desc), strictly after `after`.

    A lazy cursor over the (parent, create_time, name) index: the caller stops reading, and
    decoding, as soon as its page is full.
    """
    where = "parent = ?"
    params: list[str | float] = [parent]
    if after is not None:
        where += " AND (create_time, name) < (?, ?)"
        params += [after[0], after[1]]
    cursor = conn.execute(
        f"SELECT create_time, name, {columns} FROM {table} WHERE {where} "
        "ORDER BY create_time DESC, name DESC",
        params,
    )
    for found in cursor:
        yield (found[0], found[1]), tuple(found[2:])


def operation(
    conn: sqlite3.Connection, resource: str, metadata_type: Any, response: Any
) -> operations_pb2.Operation:
    """Stores and returns the long-running Operation of a change already made: born done, or
    running for the faults' `operation_seconds` (the real ones take minutes), after which
    GetOperation reports it done.

    `metadata_type` is a proto-plus message class whose `generic_metadata` gets the times;
    `response` a protobuf message packed as the operation's result.
    """
    seconds = clock.clock_now(conn)
    now = clock.to_timestamp(seconds)
    done_at = seconds + Faults.from_json(get_setting(conn, FAULTS_KEY)).operation_seconds
    finished = operations_pb2.Operation(
        name=f"{resource}/operations/{next_counter(conn, _OPERATION_ID_KEY, 1)}", done=True
    )
    metadata = metadata_type(
        generic_metadata=GenericOperationMetadata(create_time=now, update_time=now)
    )
    finished.metadata.CopyFrom(_pack(metadata_type.pb(metadata)))
    finished.response.CopyFrom(_pack(response))
    conn.execute(
        "INSERT INTO operations (name, proto, done_at) VALUES (?, ?, ?)",
        (finished.name, finished.SerializeToString(), done_at),
    )
    return operation_at(finished, seconds, done_at)


def operation_at(finished: operations_pb2.Operation, now: float, done_at: float | None
                 ) -> operations_pb2.Operation:
    """The operation as GetOperation sees it at `now`: still running before `done_at`."""
    if done_at is None or now >= done_at:
        return finished
    running = operations_pb2.Operation(name=finished.name, done=False)
    running.metadata.CopyFrom(finished.metadata)
    return running


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed
