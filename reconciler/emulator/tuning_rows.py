"""Tuning job rows: create, read, list, cancel, and advancing them on the clock.

Every function takes an open write connection, so the store composes them in one transaction.
A succeeded job registers its Model and Endpoint in the same transaction that finishes it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

import grpc
from google.cloud.aiplatform_v1.types import JobState, TuningJob
from google.rpc import status_pb2

from reconciler.emulator import clock, lifecycle, registration, tuning_registration
from reconciler.emulator.errors import EmulatorError, not_found
from reconciler.emulator.filters import Subject
from reconciler.emulator.ids import TUNING_JOB, next_id, registration_ids
from reconciler.emulator.names import tuning_job_name
from reconciler.emulator.paging import SortKey, take_page
from reconciler.emulator.tables import (
    labels_json,
    newest_first,
    row,
    save_endpoint,
    save_model,
    stored_quirks,
)
from reconciler.emulator.tuning_validation import base_model_id

_TERMINAL = tuple(sorted(lifecycle.TUNING.terminal))
_OPEN_JOBS = f"state NOT IN ({', '.join('?' * len(_TERMINAL))})"
# Output-only TuningJob fields (tuning_job.proto): whatever a client sends in them is ignored.
OUTPUT_ONLY = (
    "name", "state", "create_time", "start_time", "end_time", "update_time", "error",
    "experiment", "tuned_model", "tuning_data_stats", "evaluate_dataset_runs",
)


def insert(
    conn: sqlite3.Connection,
    parent: str,
    job: TuningJob,
    job_seconds: float,
    failure: status_pb2.Status | None,
) -> TuningJob:
    """Stores `job` as a new PENDING job under a fresh service-chosen numeric id."""
    message = TuningJob.pb(job)
    for field in OUTPUT_ONLY:
        message.ClearField(field)
    now = clock.clock_now(conn)
    job.name = tuning_job_name(parent, next_id(conn, TUNING_JOB))
    job.state = JobState(JobState.JOB_STATE_PENDING)  # mypy sees enum members as ints
    job.create_time = job.update_time = clock.to_timestamp(now)
    conn.execute(
        "INSERT INTO tuning_jobs (name, parent, state, create_time, job_seconds, failure, "
        "labels, proto) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            job.name,
            parent,
            int(job.state),
            now,
            job_seconds,
            None if failure is None else failure.SerializeToString(),
            labels_json(job.labels),
            TuningJob.serialize(job),
        ),
    )
    return job


def load(conn: sqlite3.Connection, name: str) -> TuningJob:
    """The job brought up to the emulator clock first, so every read sees its current state."""
    advance(conn, "name = ?", (name,))
    found = row(conn, "tuning_jobs", name)
    if found is None:
        raise not_found(f"tuning job {name} not found")
    job: TuningJob = TuningJob.deserialize(found)
    return job


def page(
    conn: sqlite3.Connection,
    parent: str,
    keep: Callable[[Subject], bool],
    size: int,
    after: SortKey | None,
) -> tuple[list[TuningJob], str]:
    """One page of `parent`'s jobs passing `keep`, newest first, and the next page token."""
    advance(conn, "parent = ?", (parent,))
    rows = newest_first(conn, "tuning_jobs", "labels, state, proto", parent, after)
    found, token = take_page(
        rows, lambda r: keep(Subject(json.loads(r[0]), "", JobState(r[1]).name)), size
    )
    return [TuningJob.deserialize(r[2]) for r in found], token


def cancel(conn: sqlite3.Connection, name: str) -> TuningJob:
    """Starts cancelling; FAILED_PRECONDITION if the job already ended."""
    job = load(conn, name)
    if job.state in lifecycle.TUNING.terminal:
        raise EmulatorError(
            grpc.StatusCode.FAILED_PRECONDITION,
            f"tuning job {name} is already {job.state.name} and cannot be cancelled",
        )
    if job.state != JobState.JOB_STATE_CANCELLING:
        now = clock.clock_now(conn)
        lifecycle.cancel(job, now, lifecycle.TUNING)
        conn.execute(
            "UPDATE tuning_jobs SET state = ?, cancel_time = ?, proto = ? WHERE name = ?",
            (int(job.state), now, TuningJob.serialize(job), name),
        )
    return job


def every_job(conn: sqlite3.Connection) -> list[TuningJob]:
    """Every tuning job (advanced to now), ordered by create time then name."""
    advance(conn, "1", ())
    rows = conn.execute("SELECT proto FROM tuning_jobs ORDER BY create_time, name")
    return [TuningJob.deserialize(p) for (p,) in rows]


def advance(conn: sqlite3.Connection, where: str, params: tuple[str, ...]) -> None:
    """Advances the unfinished jobs matching `where` to now; registers what successes leave."""
    now = clock.clock_now(conn)
    rows = conn.execute(
        "SELECT name, create_time, job_seconds, cancel_time, failure, proto FROM tuning_jobs "
        f"WHERE {_OPEN_JOBS} AND ({where})",
        (*_TERMINAL, *params),
    ).fetchall()
    for name, create_time, job_seconds, cancel_time, failure, proto in rows:
        job = TuningJob.deserialize(proto)
        decided = None if failure is None else status_pb2.Status.FromString(failure)
        schedule = lifecycle.Schedule(create_time, job_seconds, cancel_time, decided)
        if not lifecycle.advance(job, schedule, now, lifecycle.TUNING):
            continue
        if job.state == JobState.JOB_STATE_SUCCEEDED:
            _register(conn, job, create_time + job_seconds)
        conn.execute(
            "UPDATE tuning_jobs SET state = ?, proto = ? WHERE name = ?",
            (int(job.state), TuningJob.serialize(job), name),
        )


def _register(conn: sqlite3.Connection, job: TuningJob, at: float) -> None:
    """Stores the Model and Endpoint a succeeded job leaves; points `job.tuned_model` at them."""
    quirks = stored_quirks(conn)
    ids = registration_ids(conn)
    model = tuning_registration.tuned_model(job, base_model_id(job.base_model), ids, quirks)
    endpoint = registration.endpoint_for(job, model, ids, quirks)
    save_model(conn, model, create_time=at)
    save_endpoint(conn, endpoint, create_time=at)
    job.tuned_model = tuning_registration.tuned_model_ref(model)
