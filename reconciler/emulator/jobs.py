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

from reconciler.emulator import clock, lifecycle, quota
from reconciler.emulator.db import add_column
from reconciler.emulator.errors import EmulatorError, not_found
from reconciler.emulator.filters import Subject
from reconciler.emulator.names import parent_parts
from reconciler.emulator.paging import SortKey, decode_token, page_size, take_page
from reconciler.emulator.service import State
from reconciler.emulator.tables import newest_first, row, stored_quirks

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
    -- When a job held for quota was let run (quirks.quota_mode "queue").
    released_time REAL,
    labels TEXT NOT NULL,
    proto BLOB NOT NULL"""
# What a success leaves (a Model, an Endpoint), stored as of the job's end time.
Register = Callable[[sqlite3.Connection, Any, float], None]
# What a run that failed or was cancelled leaves, given how much of its course it ran (0..1).
Leftover = Callable[[sqlite3.Connection, Any, float, float], None]
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
    # What its jobs draw on: a create past it is refused or queued (quota.admit).
    quota: quota.Metric | None = None
    # What a failed or cancelled run leaves, if anything (quirks.cancelled_runs_leave_model).
    leftover: Leftover | None = None

    def indexes(self) -> str:
        return (f"CREATE INDEX IF NOT EXISTS {self.table}_by_parent ON {self.table} "
                "(parent, create_time, name);\n"
                f"CREATE INDEX IF NOT EXISTS {self.table}_by_state ON {self.table} (state);\n")

    def _open(self, where: str) -> str:
        marks = ", ".join("?" * len(self.states.terminal))
        return f"state NOT IN ({marks}) AND ({where})"

    def _terminal(self) -> tuple[int, ...]:
        return tuple(sorted(int(state) for state in self.states.terminal))

    def upgrade(self, conn: sqlite3.Connection) -> None:
        """A table made before jobs could wait for quota has no `released_time`."""
        add_column(conn, self.table, "released_time", "REAL")

    def advance(self, conn: sqlite3.Connection, where: str = "1",
                params: tuple[str, ...] = ()) -> None:
        """Advances the unfinished jobs matching `where` to now (registering what their ends
        leave), then lets queued jobs run as quota frees."""
        now = clock.clock_now(conn)
        outcome = stored_quirks(conn).cancel_outcome
        self._step(conn, now, outcome, where, params)
        if self.quota is not None and self.states.queued is not None and conn.execute(
                f"SELECT 1 FROM {self.table} WHERE state = ? LIMIT 1",
                (int(self.states.queued),)).fetchone():
            self._step(conn, now, outcome, "1", ())  # a global quota spans every location
            self._release(conn, now)

    def _step(self, conn: sqlite3.Connection, now: float, outcome: str, where: str,
              params: tuple[str, ...]) -> None:
        rows = conn.execute(
            "SELECT name, create_time, job_seconds, cancel_time, failure, released_time, proto "
            f"FROM {self.table} WHERE {self._open(where)}",
            (*self._terminal(), *params),
        ).fetchall()
        for name, create_time, job_seconds, cancel_time, failure, released, proto in rows:
            job = self.message.deserialize(proto)
            decided = None if failure is None else status_pb2.Status.FromString(failure)
            schedule = lifecycle.Schedule(create_time, job_seconds, cancel_time, decided,
                                          outcome, released)
            if not lifecycle.advance(job, schedule, now, self.states):
                continue
            self._ended(conn, job, schedule)
            conn.execute(f"UPDATE {self.table} SET state = ?, proto = ? WHERE name = ?",
                         (int(job.state), self.message.serialize(job), name))

    def _ended(self, conn: sqlite3.Connection, job: Any, schedule: lifecycle.Schedule) -> None:
        """Registers what a job that just ended leaves."""
        if job.state not in self.states.terminal:
            return
        at = job.end_time.timestamp()
        if job.state == self.states.succeeded:
            self.register(conn, job, at)
        elif self.leftover is not None:
            self.leftover(conn, job, at, schedule.progress(at))

    def _scope(self, parent: str) -> tuple[str, str]:
        """The jobs a quota counts with one in `parent`: its location's, or (a global
        quota) its project's in every location."""
        assert self.quota is not None
        if self.quota.scope == "global":
            project, _ = parent_parts(parent)
            return "parent LIKE ?", f"projects/{project}/locations/%"
        return "parent = ?", parent

    def occupancy(self, conn: sqlite3.Connection, parent: str) -> tuple[int, int]:
        """(running, waiting): the jobs a quota counts with one in `parent` that run
        (pending, running or cancelling) and that wait in the queue."""
        where, value = self._scope(parent)
        queued = -1 if self.states.queued is None else int(self.states.queued)
        found = conn.execute(
            f"SELECT coalesce(sum(state != ?), 0), coalesce(sum(state = ?), 0) "
            f"FROM {self.table} WHERE {self._open(where)}",
            (queued, queued, *self._terminal(), value)).fetchone()
        return int(found[0]), int(found[1])

    def admit(self, conn: sqlite3.Connection, parent: str) -> bool:
        """Whether a new job in `parent` runs now (False: it is queued); RESOURCE_EXHAUSTED
        when the service refuses it for quota."""
        if self.quota is None:
            return True
        where, value = self._scope(parent)
        self.advance(conn, where, (value,))
        project, location = parent_parts(parent)
        running, waiting = self.occupancy(conn, parent)
        return quota.admit(conn, self.quota, location, project, running=running,
                           waiting=waiting)

    def _release(self, conn: sqlite3.Connection, now: float) -> None:
        """Lets queued jobs run, oldest first, while their quota has room."""
        assert self.quota is not None and self.states.queued is not None
        queued = conn.execute(f"SELECT name, parent, proto FROM {self.table} WHERE state = ? "
                              "ORDER BY create_time, name", (int(self.states.queued),))
        for name, parent, proto in queued.fetchall():
            limit = quota.limit_of(conn, self.quota, parent_parts(parent)[1])
            if limit is not None and self.occupancy(conn, parent)[0] >= limit:
                continue
            job = self.message.deserialize(proto)
            job.state = self.states.enum(self.states.pending)
            job.update_time = clock.to_timestamp(now)
            conn.execute(f"UPDATE {self.table} SET state = ?, released_time = ?, proto = ? "
                         "WHERE name = ?",
                         (int(job.state), now, self.message.serialize(job), name))

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
        rows = newest_first(conn, self.table,
                            f"labels, {self.display_name}, state, proto, create_time",
                            parent, after)
        found, token = take_page(rows, lambda r: keep(
            Subject(json.loads(r[0]), r[1], self.states.enum(r[2]).name, r[4])), size)
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
            lifecycle.cancel(job, now, self.states)
            conn.execute(
                f"UPDATE {self.table} SET state = ?, cancel_time = ?, proto = ? WHERE name = ?",
                (int(job.state), now, self.message.serialize(job), name),
            )
        return job

    def every(self, conn: sqlite3.Connection) -> list[Any]:
        """Every job (advanced to now), ordered by create time then name."""
        self.advance(conn)
        rows = conn.execute(f"SELECT proto FROM {self.table} ORDER BY create_time, name")
        return [self.message.deserialize(proto) for (proto,) in rows]


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
