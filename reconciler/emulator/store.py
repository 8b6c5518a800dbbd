"""EmulatorStore: all emulator state in `{state_dir}/emulator.sqlite`, shared by processes.

Job lifecycles advance lazily: every read of jobs or models first advances the jobs concerned
inside the same write transaction, so whichever process reads first does it, exactly once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import grpc
from google.cloud.aiplatform_v1.types import (
    DeleteOperationMetadata,
    GenericOperationMetadata,
    Model,
    PipelineJob,
    PipelineState,
)
from google.longrunning import operations_pb2
from google.protobuf import any_pb2, empty_pb2

from reconciler.emulator import clock, lifecycle
from reconciler.emulator.db import Database, get_setting, put_setting
from reconciler.emulator.errors import EmulatorError, already_exists, not_found
from reconciler.emulator.faults import Fault, Faults
from reconciler.emulator.paging import SortKey

T = TypeVar("T")
Listed = list[tuple[SortKey, T]]  # items with their (create_time, name) ordering key

_FAULTS_KEY = "faults"
_DRAWS_KEY = "fault_draws"
_MODEL_ID_KEY = "next_model_id"
_OPERATION_ID_KEY = "next_operation_id"
# Vertex model ids are large numbers; starting high keeps them visibly unlike version ids.
_FIRST_MODEL_ID = 1_000_000_000_000_000_001
_TERMINAL = tuple(int(s) for s in lifecycle.TERMINAL_STATES)
_OPEN_JOBS = f"state NOT IN ({', '.join('?' * len(_TERMINAL))})"


class EmulatorStore:
    """State of one emulator, usable from any process that has the same `state_dir`."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._db = Database(state_dir)

    # -- clock -------------------------------------------------------------------------------

    def now(self) -> float:
        with self._db.read() as conn:
            return clock.clock_now(conn)

    def advance_clock(self, seconds: float) -> None:
        with self._db.write() as conn:
            clock.advance(conn, seconds)

    # -- faults and call counts ----------------------------------------------------------------

    def set_faults(
        self,
        unavailable_rate: float = 0.0,
        resource_exhausted_rate: float = 0.0,
        drop_create_response_rate: float = 0.0,
        seed: int | None = None,
    ) -> None:
        faults = Faults(unavailable_rate, resource_exhausted_rate, drop_create_response_rate, seed)
        with self._db.write() as conn:
            put_setting(conn, _FAULTS_KEY, faults.to_json())
            put_setting(conn, _DRAWS_KEY, "0")

    def faults(self) -> Faults:
        with self._db.read() as conn:
            return Faults.from_json(get_setting(conn, _FAULTS_KEY))

    def begin_call(self, method: str, *, droppable: bool = False) -> Fault | None:
        """Counts one received RPC and draws its injected fault, if any."""
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO calls (method, count) VALUES (?, 1) "
                "ON CONFLICT (method) DO UPDATE SET count = count + 1",
                (method,),
            )
            faults = Faults.from_json(get_setting(conn, _FAULTS_KEY))
            draw = _next_counter(conn, _DRAWS_KEY, 0)
            return faults.draw(draw, droppable=droppable)

    def calls(self) -> dict[str, int]:
        """RPCs received per method name (e.g. "ListPipelineJobs"), faulted ones included."""
        with self._db.read() as conn:
            return dict(conn.execute("SELECT method, count FROM calls ORDER BY 1"))

    def reset_calls(self) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM calls")

    # -- pipeline jobs -------------------------------------------------------------------------

    def create_job(
        self, parent: str, location: str, name: str, job: PipelineJob, job_seconds: float
    ) -> PipelineJob:
        """Stores a new PENDING job named `name`; ALREADY_EXISTS if the name is taken."""
        with self._db.write() as conn:
            if _row(conn, "jobs", name) is not None:
                raise already_exists(f"pipeline job {name} already exists")
            now = clock.clock_now(conn)
            job.name = name
            job.state = PipelineState(PipelineState.PIPELINE_STATE_PENDING)
            job.create_time = job.update_time = clock.to_timestamp(now)
            conn.execute(
                "INSERT INTO jobs (name, parent, job_id, location, state, create_time, "
                "job_seconds, display_name, labels, proto) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    parent,
                    name.rsplit("/", 1)[1],
                    location,
                    int(job.state),
                    now,
                    job_seconds,
                    job.display_name,
                    _labels_json(job.labels),
                    PipelineJob.serialize(job),
                ),
            )
            return job

    def job_exists(self, name: str) -> bool:
        with self._db.read() as conn:
            return _row(conn, "jobs", name) is not None

    def get_job(self, name: str) -> PipelineJob:
        with self._db.write() as conn:
            return _load_job(conn, name)

    def list_jobs(self, parent: str) -> Listed[PipelineJob]:
        with self._db.write() as conn:
            _advance_jobs(conn, "parent = ?", (parent,))
            rows = conn.execute(
                "SELECT create_time, name, proto FROM jobs WHERE parent = ?", (parent,)
            )
            return [((t, n), PipelineJob.deserialize(p)) for t, n, p in rows]

    def cancel_job(self, name: str) -> PipelineJob:
        with self._db.write() as conn:
            job = _load_job(conn, name)
            if job.state in lifecycle.TERMINAL_STATES:
                raise EmulatorError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"pipeline job {name} is already {job.state.name} and cannot be cancelled",
                )
            if job.state != PipelineState.PIPELINE_STATE_CANCELLING:
                now = clock.clock_now(conn)
                lifecycle.cancel(job, now)
                conn.execute(
                    "UPDATE jobs SET state = ?, cancel_time = ?, proto = ? WHERE name = ?",
                    (int(job.state), now, PipelineJob.serialize(job), name),
                )
            return job

    def jobs(self) -> list[PipelineJob]:
        """Every job (advanced to now), ordered by create time then name."""
        with self._db.write() as conn:
            _advance_jobs(conn, "1", ())
            rows = conn.execute("SELECT proto FROM jobs ORDER BY create_time, name")
            return [PipelineJob.deserialize(p) for (p,) in rows]

    # -- models --------------------------------------------------------------------------------

    def get_model(self, name: str) -> Model:
        with self._db.write() as conn:
            _advance_jobs(conn, "1", ())
            return _load_model(conn, name)

    def list_models(self, parent: str) -> Listed[Model]:
        with self._db.write() as conn:
            _advance_jobs(conn, "1", ())
            rows = conn.execute(
                "SELECT create_time, name, proto FROM models WHERE parent = ?", (parent,)
            )
            return [((t, n), Model.deserialize(p)) for t, n, p in rows]

    def models(self) -> list[Model]:
        """Every model (after advancing jobs), ordered by create time then name."""
        with self._db.write() as conn:
            _advance_jobs(conn, "1", ())
            rows = conn.execute("SELECT proto FROM models ORDER BY create_time, name")
            return [Model.deserialize(p) for (p,) in rows]

    def update_model(self, name: str, change: Callable[[Model], None]) -> Model:
        """Applies `change` to the stored model and stamps update_time."""
        with self._db.write() as conn:
            _advance_jobs(conn, "1", ())
            model = _load_model(conn, name)
            change(model)
            model.update_time = clock.to_timestamp(clock.clock_now(conn))
            conn.execute(
                "UPDATE models SET display_name = ?, labels = ?, proto = ? WHERE name = ?",
                (model.display_name, _labels_json(model.labels), Model.serialize(model), name),
            )
            return model

    def delete_model(self, name: str) -> operations_pb2.Operation:
        """Deletes the model; returns the already-done delete operation (also stored)."""
        with self._db.write() as conn:
            _advance_jobs(conn, "1", ())
            _load_model(conn, name)
            conn.execute("DELETE FROM models WHERE name = ?", (name,))
            now = clock.to_timestamp(clock.clock_now(conn))
            parent = name.rsplit("/models/", 1)[0]
            operation = operations_pb2.Operation(
                name=f"{parent}/operations/{_next_counter(conn, _OPERATION_ID_KEY, 1)}",
                done=True,
            )
            metadata = DeleteOperationMetadata(
                generic_metadata=GenericOperationMetadata(create_time=now, update_time=now)
            )
            operation.metadata.CopyFrom(_pack(DeleteOperationMetadata.pb(metadata)))
            operation.response.CopyFrom(_pack(empty_pb2.Empty()))
            conn.execute(
                "INSERT INTO operations (name, proto) VALUES (?, ?)",
                (operation.name, operation.SerializeToString()),
            )
            return operation

    def delete_model_outside(self, name: str) -> None:
        """Deletes a model as a console user would (no RPC, no call count): for drift tests."""
        self.delete_model(name)

    def edit_model_outside(
        self, name: str, display_name: str | None = None, labels: Mapping[str, str] | None = None
    ) -> Model:
        """Edits a model as a console user would (no RPC, no call count): for drift tests."""

        def change(model: Model) -> None:
            if display_name is not None:
                model.display_name = display_name
            if labels is not None:
                model.labels.clear()
                model.labels.update(labels)

        return self.update_model(name, change)

    # -- operations ----------------------------------------------------------------------------

    def get_operation(self, name: str) -> operations_pb2.Operation:
        with self._db.read() as conn:
            row = _row(conn, "operations", name)
        if row is None:
            raise not_found(f"operation {name} not found")
        return operations_pb2.Operation.FromString(row)


def _advance_jobs(conn: sqlite3.Connection, where: str, params: tuple[str, ...]) -> None:
    """Advances the unfinished jobs matching `where` to now; registers models of successes."""
    now = clock.clock_now(conn)
    rows = conn.execute(
        "SELECT name, create_time, job_seconds, cancel_time, proto FROM jobs "
        f"WHERE {_OPEN_JOBS} AND ({where})",
        (*_TERMINAL, *params),
    ).fetchall()
    for name, create_time, job_seconds, cancel_time, proto in rows:
        job = PipelineJob.deserialize(proto)
        schedule = lifecycle.Schedule(create_time, job_seconds, cancel_time)
        if not lifecycle.advance(job, schedule, now):
            continue
        conn.execute(
            "UPDATE jobs SET state = ?, proto = ? WHERE name = ?",
            (int(job.state), PipelineJob.serialize(job), name),
        )
        if job.state == PipelineState.PIPELINE_STATE_SUCCEEDED:
            _insert_model(conn, job, create_time + job_seconds)


def _insert_model(conn: sqlite3.Connection, job: PipelineJob, create_time: float) -> None:
    model_id = _next_counter(conn, _MODEL_ID_KEY, _FIRST_MODEL_ID)
    model = lifecycle.tuned_model(job, str(model_id))
    conn.execute(
        "INSERT INTO models (name, parent, create_time, display_name, labels, proto) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            model.name,
            model.name.rsplit("/models/", 1)[0],
            create_time,
            model.display_name,
            _labels_json(model.labels),
            Model.serialize(model),
        ),
    )


def _load_model(conn: sqlite3.Connection, name: str) -> Model:
    row = _row(conn, "models", name)
    if row is None:
        raise not_found(f"model {name} not found")
    model: Model = Model.deserialize(row)
    return model


def _load_job(conn: sqlite3.Connection, name: str) -> PipelineJob:
    """The job brought up to the emulator clock first, so every read sees its current state."""
    _advance_jobs(conn, "name = ?", (name,))
    row = _row(conn, "jobs", name)
    if row is None:
        raise not_found(f"pipeline job {name} not found")
    job: PipelineJob = PipelineJob.deserialize(row)
    return job


def _row(conn: sqlite3.Connection, table: str, name: str) -> bytes | None:
    row = conn.execute(f"SELECT proto FROM {table} WHERE name = ?", (name,)).fetchone()
    return None if row is None else bytes(row[0])


def _next_counter(conn: sqlite3.Connection, key: str, first: int) -> int:
    current = get_setting(conn, key)
    value = int(current) if current is not None else first
    put_setting(conn, key, str(value + 1))
    return value


def _labels_json(labels: Mapping[str, str]) -> str:
    return json.dumps(dict(labels), sort_keys=True)


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed
