"""What a service of the emulator is, and the state every service's store is given.

A service is a sub-package (pipelines/, tuning_jobs/, models/, ...) that defines one
`Service`: its tables, its gRPC handlers and, when it runs tuning jobs, how they advance and
what quota they draw on. emulator/all_services.py lists them; nothing else names one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.emulator.db import Database, Upgrade
from reconciler.emulator.examples import ReadObject
from reconciler.emulator.quota import Metric
from reconciler.emulator.rpc import Method

if TYPE_CHECKING:
    from reconciler.emulator.jobs import JobTable


@dataclass(frozen=True)
class Jobs:
    """What a service that runs tuning jobs tells the others."""

    quota: Metric
    # Its jobs: advancing them to now registers what successes leave (Models, Endpoints),
    # and any service whose jobs share their collection serves them too.
    table: JobTable


@dataclass(frozen=True)
class Service:
    """An entry of the service registry."""

    # The gRPC services it serves, by fully-qualified name, once the server starts.
    serve: Callable[[Context], list[tuple[str, list[Method]]]]
    # CREATE TABLE IF NOT EXISTS ... for its state in emulator.sqlite.
    tables: str = ""
    upgrade: Upgrade | None = None
    # Where it runs jobs: the Model Registry serves every such location.
    locations: tuple[str, ...] = ()
    jobs: Jobs | None = None


class State:
    """All Vertex AI state in `{state_dir}/emulator.sqlite`, usable from any process with the
    same `state_dir`: the database, and what the services need of each other."""

    def __init__(self, state_dir: Path, services: Sequence[Service]) -> None:
        self.state_dir = state_dir
        self.db = Database(state_dir, [service.tables for service in services],
                           [service.upgrade for service in services if service.upgrade])
        self._jobs = tuple(service.jobs for service in services if service.jobs)
        self._tables = tuple(jobs.table for jobs in self._jobs)
        # The locations any service runs in, in registry order (error messages list them).
        self.locations = tuple(dict.fromkeys(
            location for service in services for location in service.locations))

    def advance_jobs(self, conn: sqlite3.Connection) -> None:
        """Every service's unfinished jobs to now, so a read of Models or Endpoints sees
        what their successes left."""
        for table in self._tables:
            table.advance(conn)

    def job_tables(self, collection: str) -> tuple[JobTable, ...]:
        """Every service's job table of `collection`, in registry order."""
        return tuple(table for table in self._tables if table.collection == collection)


@dataclass(frozen=True)
class Context:
    """What a service's handlers are given when the server starts."""

    state: State
    # Reads a gs:// object from the storage emulator: runs check their datasets.
    read_object: ReadObject
    # How long jobs created through this server take.
    job_seconds: float
