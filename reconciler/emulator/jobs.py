"""A service's job rows: advancing them on the clock, reading, listing and cancelling them.

Every service that runs tuning jobs keeps them alike: one table with the lifecycle columns
below (and any of its own), the job message in `proto`. Every method takes an open write
connection, so a store composes them in one transaction; a succeeded job registers what it
leaves in the same transaction that finishes it, whichever process reads it first.

Services whose jobs share a collection (two versions of one API, each running its own kind of
job) each keep their table, with their own lifecycle and registration; each reads, lists and
cancels the jobs of all of them (JobView), as one service would serve them.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
from collections.abc import Callable, Iterator
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
from reconciler.emulator.tables import labels_json, newest_first, row, stored_quirks

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
    -- When a job held for quota was let run (quirks.quota_mode "queue").
    released_time REAL,
    proto BLOB NOT NULL,
    due REAL"""
# `due`: when the job next moves on the clock (lifecycle.due), NULL once it has ended. Reads
# advance only the jobs due, through its indexes, so no call costs more as jobs pile up.
# What a success leaves (a Model, an Endpoint), stored as of the job's end time.
Register = Callable[[sqlite3.Connection, Any, float], None]
Keep = Callable[[Subject], bool]  # a List request's filter
# A service's job message (proto-plus).
J = TypeVar("J")


# What a run that failed or was cancelled leaves, given how much of its course it ran (0..1).
Leftover = Callable[[sqlite3.Connection, Any, float, float], None]
# A listed row: its list order key, then what a filter sees of it and its job message.
Listed = tuple[SortKey, tuple[Subject, bytes]]


@dataclass(frozen=True)
class JobTable:
    table: str
    # The collection of its jobs' names (`.../pipelineJobs/ID`): services whose tables hold
    # the same collection serve each other's jobs.
    collection: str
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
        """Brings a table of an older emulator up to date, then indexes what is due.

        Older tables lack `failure` (runs that fail on their datasets), `released_time` (jobs
        held for quota) or `due`; an unfinished job of theirs is due at once, and its first
        advance sets when it moves next.
        """
        add_column(conn, self.table, "failure", "BLOB")
        add_column(conn, self.table, "released_time", "REAL")
        if add_column(conn, self.table, "due", "REAL"):
            conn.execute(f"UPDATE {self.table} SET due = create_time "
                         f"WHERE due IS NULL AND {self._open('1')}", self._terminal())
        conn.executescript("".join(
            f"CREATE INDEX IF NOT EXISTS {self.table}_due{suffix} ON {self.table} ({columns});"
            for suffix, columns in (("", "due"), ("_by_parent", "parent, due"))))

    def insert(self, conn: sqlite3.Connection, job: Any, *, parent: str, now: float,
               job_seconds: float, failure: status_pb2.Status | None = None,
               **columns: str) -> None:
        """Stores `job` (named, PENDING or queued, created at `now`), with the table's own
        `columns`."""
        schedule = lifecycle.Schedule(now, job_seconds, None)
        values = {"name": job.name, "parent": parent, "state": int(job.state),
                  "create_time": now, "job_seconds": job_seconds,
                  "failure": stored_failure(failure), "labels": labels_json(job.labels),
                  "proto": self.message.serialize(job),
                  "due": lifecycle.due(job.state, schedule, self.states), **columns}
        conn.execute(f"INSERT INTO {self.table} ({', '.join(values)}) "
                     f"VALUES ({', '.join('?' * len(values))})", tuple(values.values()))

    def advance(self, conn: sqlite3.Connection, where: str = "1",
                params: tuple[str, ...] = ()) -> None:
        """Advances the jobs matching `where` that are due by now (registering what their
        ends leave), then lets queued jobs run as quota frees."""
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
            f"FROM {self.table} WHERE due <= ? AND ({where})",
            (now, *params),
        ).fetchall()
        for name, create_time, job_seconds, cancel_time, failure, released, proto in rows:
            job = self.message.deserialize(proto)
            decided = None if failure is None else status_pb2.Status.FromString(failure)
            schedule = lifecycle.Schedule(create_time, job_seconds, cancel_time, decided,
                                          outcome, released)
            # Unchanged only for a job of an older table, due at once: its due is set now.
            if lifecycle.advance(job, schedule, now, self.states):
                self._ended(conn, job, schedule)
            conn.execute(
                f"UPDATE {self.table} SET state = ?, due = ?, proto = ? WHERE name = ?",
                (int(job.state), lifecycle.due(job.state, schedule, self.states),
                 self.message.serialize(job), name))

    def _ended(self, conn: sqlite3.Connection, job: Any, schedule: lifecycle.Schedule) -> None:
        """Registers what a job that just ended leaves."""
        if job.state not in self.states.terminal:
            return
        at = job.end_time.timestamp()
        if job.state == self.states.succeeded:
            self.register(conn, job, at)
        elif self.leftover is not None:
            self.leftover(conn, job, at, schedule.progress(at))

    def _scope(self, parent: str) -> tuple[str, tuple[str, ...]]:
        """The jobs a quota counts with one in `parent`: its location's, or (a global
        quota) its project's in every location, as a range its indexes search."""
        assert self.quota is not None
        if self.quota.scope == "global":
            project, _ = parent_parts(parent)
            prefix = f"projects/{project}/locations/"
            return "parent >= ? AND parent < ?", (prefix, prefix[:-1] + "0")  # "0" follows "/"
        return "parent = ?", (parent,)

    def occupancy(self, conn: sqlite3.Connection, parent: str) -> tuple[int, int]:
        """(running, waiting): the jobs a quota counts with one in `parent` that run
        (pending, running or cancelling: due to move) and that wait in the queue."""
        where, params = self._scope(parent)
        running = conn.execute(f"SELECT count(*) FROM {self.table} WHERE {where} "
                               "AND due IS NOT NULL", params).fetchone()[0]
        waiting = 0 if self.states.queued is None else conn.execute(
            f"SELECT count(*) FROM {self.table} WHERE state = ? AND {where}",
            (int(self.states.queued), *params)).fetchone()[0]
        return int(running), int(waiting)

    def admit(self, conn: sqlite3.Connection, parent: str) -> bool:
        """Whether a new job in `parent` runs now (False: it is queued); RESOURCE_EXHAUSTED
        when the service refuses it for quota. Counts nothing when no limit is set."""
        if self.quota is None:
            return True
        project, location = parent_parts(parent)
        if quota.limit_of(conn, self.quota, location) is None:
            return True
        self.advance(conn)  # every job due by now, through the `due` index: a quota may be global
        running, waiting = self.occupancy(conn, parent)
        return quota.admit(conn, self.quota, location, project, running=running,
                           waiting=waiting)

    def _release(self, conn: sqlite3.Connection, now: float) -> None:
        """Lets queued jobs run, oldest first, while their quota has room."""
        assert self.quota is not None and self.states.queued is not None
        queued = conn.execute(
            f"SELECT name, parent, create_time, job_seconds, proto FROM {self.table} "
            "WHERE state = ? ORDER BY create_time, name", (int(self.states.queued),))
        for name, parent, create_time, job_seconds, proto in queued.fetchall():
            limit = quota.limit_of(conn, self.quota, parent_parts(parent)[1])
            if limit is not None and self.occupancy(conn, parent)[0] >= limit:
                continue
            job = self.message.deserialize(proto)
            job.state = self.states.enum(self.states.pending)
            job.update_time = clock.to_timestamp(now)
            schedule = lifecycle.Schedule(create_time, job_seconds, None, released_time=now)
            conn.execute(f"UPDATE {self.table} SET state = ?, released_time = ?, due = ?, "
                         "proto = ? WHERE name = ?",
                         (int(job.state), now, lifecycle.due(job.state, schedule, self.states),
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

    def listed(self, conn: sqlite3.Connection, parent: str, after: SortKey | None
               ) -> Iterator[Listed]:
        """`parent`'s jobs in list order after `after` (advanced first), decoded lazily."""
        self.advance(conn, "parent = ?", (parent,))
        rows = newest_first(conn, self.table,
                            f"labels, {self.display_name}, state, proto, create_time",
                            parent, after)
        for key, (labels, display_name, state, proto, create_time) in rows:
            yield key, (Subject(json.loads(labels), display_name,
                                self.states.enum(state).name, create_time), proto)

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


def stored_failure(failure: status_pb2.Status | None) -> bytes | None:
    """The `failure` column of a new job."""
    return None if failure is None else failure.SerializeToString()


@dataclass(frozen=True)
class JobView:
    """The jobs of one collection as one service serves them: its own table first, then
    every other service's that holds the same collection, each job as the first table's
    message (a wire-compatible version of the same API message)."""

    tables: tuple[JobTable, ...]

    def _owner(self, conn: sqlite3.Connection, name: str) -> JobTable:
        """The table holding job `name`, NOT_FOUND if none does."""
        owner = next((table for table in self.tables if table.exists(conn, name)), None)
        if owner is None:
            raise not_found(f"{self.tables[0].what} {name} not found")
        return owner

    def _as_read(self, job: Any) -> Any:
        return self.tables[0].message.deserialize(type(job).serialize(job))

    def load(self, conn: sqlite3.Connection, name: str) -> Any:
        return self._as_read(self._owner(conn, name).load(conn, name))

    def page(self, conn: sqlite3.Connection, parent: str, keep: Keep, size: int,
             after: SortKey | None) -> tuple[list[Any], str]:
        """One page of `parent`'s jobs passing `keep`, newest first, and the next page token."""
        # Each table lists newest first: merged, so do they all.
        rows = heapq.merge(*(table.listed(conn, parent, after) for table in self.tables),
                           key=lambda listed: listed[0], reverse=True)
        found, token = take_page(rows, lambda listed: keep(listed[0]), size)
        return [self.tables[0].message.deserialize(proto) for _, proto in found], token

    def cancel(self, conn: sqlite3.Connection, name: str) -> Any:
        return self._as_read(self._owner(conn, name).cancel(conn, name))


class JobStore(Generic[J]):
    """What every job service's store offers, each call one transaction; a service adds
    its own create. Reads and cancels reach every job of the table's collection."""

    def __init__(self, state: State, table: JobTable) -> None:
        self._db = state.db
        self._table = table
        others = (shared for shared in state.job_tables(table.collection) if shared is not table)
        self._view = JobView((table, *others))

    def get(self, name: str) -> J:
        with self._db.write() as conn:
            job: J = self._view.load(conn, name)
            return job

    def page(self, parent: str, keep: Keep, size: int, token: str) -> tuple[list[J], str]:
        """One page of `parent`'s jobs passing `keep`, newest first, and the next page token."""
        after = decode_token(token)
        with self._db.write() as conn:
            return self._view.page(conn, parent, keep, page_size(size, stored_quirks(conn)),
                                   after)

    def cancel(self, name: str) -> J:
        with self._db.write() as conn:
            job: J = self._view.cancel(conn, name)
            return job

    def all(self) -> list[J]:
        """Every job of this service's own table (advanced to now), ordered by create time
        then name."""
        with self._db.write() as conn:
            return self._table.every(conn)
