"""A service's job rows: advancing them on the clock, reading, listing and cancelling them.

Every service that runs tuning jobs keeps them alike: one table with the lifecycle columns
below (and any of its own), the job message in `proto`. Every method takes an open write
connection, so a store composes them in one transaction; a succeeded job registers what it
leaves in the same transaction that finishes it, whichever process reads it first.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import grpc
from google.rpc import status_pb2

from reconciler.emulator import clock, lifecycle
from reconciler.emulator.db import add_column
from reconciler.emulator.errors import EmulatorError, not_found
from reconciler.emulator.filters import Subject
from reconciler.emulator.paging import SortKey, decode_token, page_size, take_page
from reconciler.emulator.service import State
from reconciler.emulator.tables import newest_first, row

# The columns every job table has; a service adds its own after them.
LIFECYCLE_COLUMNS = """
    name TEXT PRIMARY KEY,
    parent TEXT NOT NULL,
    state INTEGER NOT NULL,
    create_time REAL NOT NULL,
    -- Duration fixed at creation so a job's schedule never shifts between servers.
    job_seconds REAL NOT NULL,
    cancel_time REAL,
    -- A google.rpc.Status decided at create (bad dataset): the run ends FAILED with it.
    failure BLOB,
    labels TEXT NOT NULL,
    proto BLOB NOT NULL,
    due REAL"""
# `due`: when the job next moves on the clock (lifecycle.due), NULL once it has ended. Reads
# advance only the jobs due, through its indexes, so no call costs more as jobs pile up.
# What a success leaves (a Model, an Endpoint), stored as of the job's end time.
Register = Callable[[sqlite3.Connection, Any, float], None]
Keep = Callable[[Subject], bool]  # a List request's filter
# A service's job message (proto-plus).
J = TypeVar("J")


@dataclass(frozen=True)
class JobTable:
    table: str
    # What the job is called in error messages ("pipeline job").
    what: str
    # The job's proto-plus message class.
    message: Any
    states: lifecycle.States
    register: Register
    # The column a List filter's display_name reads ("''" for jobs that have none).
    display_name: str = "display_name"
    # The column whose value a quota counts unfinished jobs by (a parent, or a location).
    quota_scope: str = "parent"

    def indexes(self) -> str:
        return (f"CREATE INDEX IF NOT EXISTS {self.table}_by_parent ON {self.table} "
                "(parent, create_time, name);\n")

    def upgrade(self, conn: sqlite3.Connection) -> None:
        """Brings a table of an older emulator up to date, then indexes what is due.

        Older tables lack `failure` (runs that fail on their datasets) or `due`; an unfinished
        job of theirs is due at once, and its first advance sets when it moves next.
        """
        add_column(conn, self.table, "failure", "BLOB")
        if add_column(conn, self.table, "due", "REAL"):
            marks = ", ".join("?" * len(self.states.terminal))
            conn.execute(f"UPDATE {self.table} SET due = create_time "
                         f"WHERE due IS NULL AND state NOT IN ({marks})",
                         tuple(int(state) for state in self.states.terminal))
        conn.executescript("".join(
            f"CREATE INDEX IF NOT EXISTS {self.table}_due{suffix} ON {self.table} ({columns});"
            for suffix, columns in (("", "due"), ("_by_parent", "parent, due"),
                                    (f"_by_{self.quota_scope}", f"{self.quota_scope}, due"))))

    def first_due(self, create_time: float, job_seconds: float) -> float | None:
        """The `due` column of a new (PENDING) job."""
        return lifecycle.due(self.states.pending,
                             lifecycle.Schedule(create_time, job_seconds, None), self.states)

    def advance(self, conn: sqlite3.Connection, where: str = "1",
                params: tuple[str, ...] = ()) -> None:
        """Advances the jobs matching `where` that are due by now; registers what successes
        leave."""
        now = clock.clock_now(conn)
        rows = conn.execute(
            "SELECT name, create_time, job_seconds, cancel_time, failure, proto FROM "
            f"{self.table} WHERE due <= ? AND ({where})",
            (now, *params),
        ).fetchall()
        for name, create_time, job_seconds, cancel_time, failure, proto in rows:
            job = self.message.deserialize(proto)
            decided = None if failure is None else status_pb2.Status.FromString(failure)
            schedule = lifecycle.Schedule(create_time, job_seconds, cancel_time, decided)
            # Unchanged only for a job of an older table, due at once: its due is set now.
            changed = lifecycle.advance(job, schedule, now, self.states)
            if changed and job.state == self.states.succeeded:
                self.register(conn, job, create_time + job_seconds)
            conn.execute(
                f"UPDATE {self.table} SET state = ?, due = ?, proto = ? WHERE name = ?",
                (int(job.state), lifecycle.due(job.state, schedule, self.states),
                 self.message.serialize(job), name))

    def exists(self, conn: sqlite3.Connection, name: str) -> bool:
        return row(conn, self.table, name) is not None

    def load(self, conn: sqlite3.Connection, name: str) -> Any:
        """The job brought up to the emulator clock first, so every read sees its state now."""
        self.advance(conn, "name = ?", (name,))
        found = row(conn, self.table, name)
        if found is None:
            raise not_found(f"{self.what} {name} not found")
        return self.message.deserialize(found)

    def page(self, conn: sqlite3.Connection, parent: str, keep: Keep, size: int,
             after: SortKey | None) -> tuple[list[Any], str]:
        """One page of `parent`'s jobs passing `keep`, newest first, and the next page token."""
        self.advance(conn, "parent = ?", (parent,))
        rows = newest_first(conn, self.table, f"labels, {self.display_name}, state, proto",
                            parent, after)
        found, token = take_page(rows, lambda r: keep(
            Subject(json.loads(r[0]), r[1], self.states.enum(r[2]).name)), size)
        return [self.message.deserialize(r[3]) for r in found], token

    def cancel(self, conn: sqlite3.Connection, name: str) -> Any:
        """Starts cancelling; FAILED_PRECONDITION if the job already ended."""
        job = self.load(conn, name)
        if job.state in self.states.terminal:
            raise EmulatorError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"{self.what} {name} is already {job.state.name} and cannot be cancelled",
            )
        if job.state != self.states.cancelling:
            now = clock.clock_now(conn)
            done_at = lifecycle.cancel(job, now, self.states)
            conn.execute(
                f"UPDATE {self.table} SET state = ?, cancel_time = ?, due = ?, proto = ? "
                "WHERE name = ?",
                (int(job.state), now, done_at, self.message.serialize(job), name),
            )
        return job

    def every(self, conn: sqlite3.Connection) -> list[Any]:
        """Every job (advanced to now), ordered by create time then name."""
        self.advance(conn)
        rows = conn.execute(f"SELECT proto FROM {self.table} ORDER BY create_time, name")
        return [self.message.deserialize(proto) for (proto,) in rows]

    def unfinished(self, conn: sqlite3.Connection, scope: str) -> int:
        """Jobs of `scope` (see quota_scope) pending, running or cancelling: not yet ended."""
        found = conn.execute(
            f"SELECT count(*) FROM {self.table} WHERE {self.quota_scope} = ? "
            "AND due IS NOT NULL", (scope,)).fetchone()
        return int(found[0])


def stored_failure(failure: status_pb2.Status | None) -> bytes | None:
    """The `failure` column of a new job."""
    return None if failure is None else failure.SerializeToString()


class JobStore(Generic[J]):
    """What every job service's store offers, each call one transaction; a service adds
    its own create."""

    def __init__(self, state: State, table: JobTable) -> None:
        self._db = state.db
        self._table = table

    def get(self, name: str) -> J:
        with self._db.write() as conn:
            job: J = self._table.load(conn, name)
            return job

    def page(self, parent: str, keep: Keep, size: int, token: str) -> tuple[list[J], str]:
        """One page of `parent`'s jobs passing `keep`, newest first, and the next page token."""
        size, after = page_size(size), decode_token(token)
        with self._db.write() as conn:
            return self._table.page(conn, parent, keep, size, after)

    def cancel(self, name: str) -> J:
        with self._db.write() as conn:
            job: J = self._table.cancel(conn, name)
            return job

    def all(self) -> list[J]:
        """Every job (advanced to now), ordered by create time then name."""
        with self._db.write() as conn:
            return self._table.every(conn)
