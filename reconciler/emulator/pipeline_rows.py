"""Pipeline job rows: advancing them on the clock and registering what successes leave.

Every function takes an open write connection, so the store composes them in one transaction.
"""

from __future__ import annotations

import sqlite3

from google.cloud.aiplatform_v1.types import PipelineJob, PipelineState
from google.rpc import status_pb2

from reconciler.emulator import clock, lifecycle, registration
from reconciler.emulator.errors import not_found
from reconciler.emulator.ids import registration_ids
from reconciler.emulator.tables import row, save_endpoint, save_model, stored_quirks

_TERMINAL = tuple(sorted(lifecycle.PIPELINE.terminal))
_OPEN_JOBS = f"state NOT IN ({', '.join('?' * len(_TERMINAL))})"


def advance_jobs(conn: sqlite3.Connection, where: str, params: tuple[str, ...]) -> None:
    """Advances the unfinished jobs matching `where` to now; registers what successes leave."""
    now = clock.clock_now(conn)
    rows = conn.execute(
        "SELECT name, create_time, job_seconds, cancel_time, failure, proto FROM jobs "
        f"WHERE {_OPEN_JOBS} AND ({where})",
        (*_TERMINAL, *params),
    ).fetchall()
    for name, create_time, job_seconds, cancel_time, failure, proto in rows:
        job = PipelineJob.deserialize(proto)
        decided = None if failure is None else status_pb2.Status.FromString(failure)
        schedule = lifecycle.Schedule(create_time, job_seconds, cancel_time, decided)
        if not lifecycle.advance(job, schedule, now):
            continue
        if job.state == PipelineState.PIPELINE_STATE_SUCCEEDED:
            _register(conn, job, create_time + job_seconds)
        conn.execute(
            "UPDATE jobs SET state = ?, proto = ? WHERE name = ?",
            (int(job.state), PipelineJob.serialize(job), name),
        )


def load_job(conn: sqlite3.Connection, name: str) -> PipelineJob:
    """The job brought up to the emulator clock first, so every read sees its current state."""
    advance_jobs(conn, "name = ?", (name,))
    found = row(conn, "jobs", name)
    if found is None:
        raise not_found(f"pipeline job {name} not found")
    job: PipelineJob = PipelineJob.deserialize(found)
    return job


def _register(conn: sqlite3.Connection, job: PipelineJob, at: float) -> None:
    """Stores the Model and Endpoint a succeeded run leaves, and its task details on `job`."""
    quirks = stored_quirks(conn)
    ids = registration_ids(conn)
    model = registration.tuned_model(job, ids, quirks)
    endpoint = registration.endpoint_for(job, model, ids, quirks)
    save_model(conn, model, create_time=at)
    save_endpoint(conn, endpoint, create_time=at)
    job.job_detail = registration.job_detail(job, model, endpoint)
