"""EmulatorStore: all emulator state in `{state_dir}/emulator.sqlite`, shared by processes.

Job lifecycles advance lazily: every read of jobs, models or endpoints first advances the jobs
concerned inside the same write transaction, so whichever process reads first does it, once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path

import grpc
from google.cloud.aiplatform_v1.types import (
    DeleteOperationMetadata,
    DeployedModel,
    DeployedModelRef,
    Endpoint,
    Model,
    PipelineJob,
    PipelineState,
    TuningJob,
    UndeployModelOperationMetadata,
    UndeployModelResponse,
)
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2
from google.rpc import status_pb2

from reconciler.emulator import clock, lifecycle, quota, registration, tuning_rows
from reconciler.emulator.db import Database, get_setting, put_setting
from reconciler.emulator.errors import EmulatorError, already_exists, not_found
from reconciler.emulator.faults import Fault, Faults
from reconciler.emulator.filters import Subject
from reconciler.emulator.ids import BILLING, DEPLOYED_MODEL, ENDPOINT, next_id
from reconciler.emulator.paging import decode_token, page_size, take_page
from reconciler.emulator.pipeline_rows import advance_jobs, load_job
from reconciler.emulator.quirks import QUIRKS_KEY, Quirks
from reconciler.emulator.tables import (
    done_operation,
    labels_json,
    load_endpoint,
    load_model,
    newest_first,
    next_counter,
    row,
    save_endpoint,
    save_model,
    stored_quirks,
)

Keep = Callable[[Subject], bool]  # a List request's filter

_FAULTS_KEY = "faults"
_DRAWS_KEY = "fault_draws"


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

    # -- faults, quirks and call counts --------------------------------------------------------

    def set_faults(
        self,
        unavailable_rate: float = 0.0,
        resource_exhausted_rate: float = 0.0,
        drop_create_response_rate: float = 0.0,
        seed: int | None = None,
        create_latency_seconds: float = 0.0,
    ) -> None:
        faults = Faults(unavailable_rate, resource_exhausted_rate, drop_create_response_rate, seed,
                        create_latency_seconds)
        with self._db.write() as conn:
            put_setting(conn, _FAULTS_KEY, faults.to_json())
            put_setting(conn, _DRAWS_KEY, "0")

    def faults(self) -> Faults:
        with self._db.read() as conn:
            return Faults.from_json(get_setting(conn, _FAULTS_KEY))

    def set_quota(self, limits: quota.Limits) -> None:
        """How many jobs of each kind may run at once per location (see quota.py)."""
        with self._db.write() as conn:
            quota.save(conn, limits)

    def quota(self) -> quota.Limits:
        with self._db.read() as conn:
            return quota.load(conn)

    def set_quirks(self, model_labels: bool = True) -> None:
        """Picks the pipeline behaviours that changed between versions (see quirks.Quirks).

        Applies to jobs that succeed from now on; what is already registered stays.
        """
        with self._db.write() as conn:
            put_setting(conn, QUIRKS_KEY, Quirks(model_labels=model_labels).to_json())

    def quirks(self) -> Quirks:
        with self._db.read() as conn:
            return stored_quirks(conn)

    def begin_call(self, method: str, *, droppable: bool = False) -> Fault | None:
        """Counts one received RPC and draws its injected fault, if any."""
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO calls (method, count) VALUES (?, 1) "
                "ON CONFLICT (method) DO UPDATE SET count = count + 1",
                (method,),
            )
            faults = Faults.from_json(get_setting(conn, _FAULTS_KEY))
            draw = next_counter(conn, _DRAWS_KEY, 0)
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
        self,
        parent: str,
        location: str,
        name: str,
        job: PipelineJob,
        job_seconds: float,
        *,
        failure: status_pb2.Status | None = None,
    ) -> PipelineJob:
        """Stores a new PENDING job named `name`; ALREADY_EXISTS if the name is taken.

        `failure`, if given, is the error the run ends with when it would otherwise succeed.
        """
        with self._db.write() as conn:
            if row(conn, "jobs", name) is not None:
                raise already_exists(f"pipeline job {name} already exists")
            advance_jobs(conn, "location = ?", (location,))
            quota.check(conn, "pipeline", location, _unfinished(conn, "jobs", "location = ?",
                                                                 location))
            now = clock.clock_now(conn)
            job.name = name
            job.state = PipelineState(PipelineState.PIPELINE_STATE_PENDING)
            job.create_time = job.update_time = clock.to_timestamp(now)
            # The service sets this reserved label itself, overriding any value the user sent.
            billing = next_id(conn, BILLING)
            job.labels[registration.BILLING_ID_LABEL] = str(billing)
            conn.execute(
                "INSERT INTO jobs (name, parent, job_id, location, state, create_time, "
                "job_seconds, failure, display_name, labels, proto) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    parent,
                    name.rsplit("/", 1)[1],
                    location,
                    int(job.state),
                    now,
                    job_seconds,
                    None if failure is None else failure.SerializeToString(),
                    job.display_name,
                    labels_json(job.labels),
                    PipelineJob.serialize(job),
                ),
            )
            return job

    def job_exists(self, name: str) -> bool:
        with self._db.read() as conn:
            return row(conn, "jobs", name) is not None

    def get_job(self, name: str) -> PipelineJob:
        with self._db.write() as conn:
            return load_job(conn, name)

    def list_jobs(
        self, parent: str, keep: Keep, size: int, token: str
    ) -> tuple[list[PipelineJob], str]:
        """One page of `parent`'s jobs passing `keep`, newest first, and the next page token."""
        size, after = page_size(size), decode_token(token)
        with self._db.write() as conn:
            advance_jobs(conn, "parent = ?", (parent,))
            rows = newest_first(conn, "jobs", "labels, display_name, state, proto", parent, after)
            page, next_token = take_page(
                rows,
                lambda r: keep(Subject(json.loads(r[0]), r[1], PipelineState(r[2]).name)),
                size,
            )
            return [PipelineJob.deserialize(r[3]) for r in page], next_token

    def cancel_job(self, name: str) -> PipelineJob:
        with self._db.write() as conn:
            job = load_job(conn, name)
            if job.state in lifecycle.PIPELINE.terminal:
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
            _advance_all(conn)
            rows = conn.execute("SELECT proto FROM jobs ORDER BY create_time, name")
            return [PipelineJob.deserialize(p) for (p,) in rows]

    # -- tuning jobs (GenAiTuningService) -------------------------------------------------------

    def create_tuning_job(
        self,
        parent: str,
        job: TuningJob,
        job_seconds: float,
        *,
        failure: status_pb2.Status | None = None,
    ) -> TuningJob:
        """Stores a new PENDING job under an id the service picks (the request has none).

        `failure`, if given, is the error the run ends with when it would otherwise succeed.
        """
        with self._db.write() as conn:
            tuning_rows.advance(conn, "parent = ?", (parent,))
            location = parent.split("/")[3]
            quota.check(conn, "tuning-job", location,
                        _unfinished(conn, "tuning_jobs", "parent = ?", parent))
            return tuning_rows.insert(conn, parent, job, job_seconds, failure)

    def get_tuning_job(self, name: str) -> TuningJob:
        with self._db.write() as conn:
            return tuning_rows.load(conn, name)

    def list_tuning_jobs(
        self, parent: str, keep: Keep, size: int, token: str
    ) -> tuple[list[TuningJob], str]:
        """One page of `parent`'s tuning jobs passing `keep`, newest first, and the next token."""
        size, after = page_size(size), decode_token(token)
        with self._db.write() as conn:
            return tuning_rows.page(conn, parent, keep, size, after)

    def cancel_tuning_job(self, name: str) -> TuningJob:
        with self._db.write() as conn:
            return tuning_rows.cancel(conn, name)

    def tuning_jobs(self) -> list[TuningJob]:
        """Every tuning job (advanced to now), ordered by create time then name."""
        with self._db.write() as conn:
            return tuning_rows.every_job(conn)

    # -- models --------------------------------------------------------------------------------

    def get_model(self, name: str, version: str | None = None) -> Model:
        """The model; with `version`, only if that is its version id or one of its aliases
        (every model here has the one version 1, alias "default")."""
        with self._db.write() as conn:
            _advance_all(conn)
            model = load_model(conn, name)
        if version is not None and version not in (model.version_id, *model.version_aliases):
            raise not_found(f"model {name}@{version} not found")
        return model

    def list_models(
        self, parent: str, keep: Keep, size: int, token: str
    ) -> tuple[list[Model], str]:
        size, after = page_size(size), decode_token(token)
        with self._db.write() as conn:
            _advance_all(conn)
            rows = newest_first(conn, "models", "labels, display_name, proto", parent, after)
            page, next_token = take_page(
                rows, lambda r: keep(Subject(json.loads(r[0]), r[1])), size
            )
            return [Model.deserialize(r[2]) for r in page], next_token

    def models(self) -> list[Model]:
        """Every model (after advancing jobs), ordered by create time then name."""
        with self._db.write() as conn:
            _advance_all(conn)
            rows = conn.execute("SELECT proto FROM models ORDER BY create_time, name")
            return [Model.deserialize(p) for (p,) in rows]

    def update_model(self, name: str, change: Callable[[Model], None]) -> Model:
        """Applies `change` to the stored model and stamps update_time."""
        with self._db.write() as conn:
            _advance_all(conn)
            model = load_model(conn, name)
            change(model)
            model.update_time = clock.to_timestamp(clock.clock_now(conn))
            save_model(conn, model)
            return model

    def delete_model(self, name: str) -> operations_pb2.Operation:
        """Deletes an undeployed model; returns the already-done delete operation (also stored)."""
        with self._db.write() as conn:
            _advance_all(conn)
            model = load_model(conn, name)
            if model.deployed_models:
                # The real DeleteModel refuses the same way, listing the endpoints.
                endpoints = ", ".join(ref.endpoint for ref in model.deployed_models)
                raise EmulatorError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"The model {name} is deployed or being deployed at the following "
                    f"Endpoints: {endpoints}",
                )
            conn.execute("DELETE FROM models WHERE name = ?", (name,))
            return done_operation(conn, name, DeleteOperationMetadata, empty_pb2.Empty())

    def delete_model_outside(self, name: str) -> None:
        """Deletes a model as a console user would (no RPC, no call count): for drift tests.

        The console cannot delete a deployed model either, so like a user this first
        undeploys it from every endpoint (the endpoints stay).
        """
        for ref in self.get_model(name).deployed_models:
            self.undeploy_model(ref.endpoint, ref.deployed_model_id)
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

    def deploy_outside(self, model_name: str, endpoint_name: str | None = None) -> str:
        """Deploys a Model as a console user would (no RPC): onto `endpoint_name`, or onto a
        new endpoint that no run created. For tests of what prune must leave alone."""
        with self._db.write() as conn:
            _advance_all(conn)
            model = load_model(conn, model_name)
            deployed_id = str(next_id(conn, DEPLOYED_MODEL))
            now = clock.to_timestamp(clock.clock_now(conn))
            new = endpoint_name is None
            if endpoint_name is None:
                parent = model_name.rsplit("/models/", 1)[0]
                number = next_id(conn, ENDPOINT)
                endpoint_name = f"{parent}/endpoints/{number}"
                endpoint = Endpoint(name=endpoint_name, display_name="deployed by hand",
                                    create_time=now)
            else:
                endpoint = load_endpoint(conn, endpoint_name)
            endpoint.deployed_models.append(DeployedModel(
                id=deployed_id, model=model.name, model_version_id=model.version_id,
                display_name=model.display_name, create_time=now,
                automatic_resources={"min_replica_count": 1, "max_replica_count": 1}))
            endpoint.update_time = now
            save_endpoint(conn, endpoint, create_time=clock.clock_now(conn) if new else None)
            model.deployed_models.append(DeployedModelRef(endpoint=endpoint_name,
                                                          deployed_model_id=deployed_id))
            save_model(conn, model)
            return endpoint_name

    # -- endpoints -----------------------------------------------------------------------------

    def get_endpoint(self, name: str) -> Endpoint:
        with self._db.write() as conn:
            _advance_all(conn)
            return load_endpoint(conn, name)

    def list_endpoints(
        self, parent: str, keep: Keep, size: int, token: str
    ) -> tuple[list[Endpoint], str]:
        size, after = page_size(size), decode_token(token)
        with self._db.write() as conn:
            _advance_all(conn)
            rows = newest_first(conn, "endpoints", "labels, display_name, proto", parent, after)
            page, next_token = take_page(
                rows, lambda r: keep(Subject(json.loads(r[0]), r[1])), size
            )
            return [Endpoint.deserialize(r[2]) for r in page], next_token

    def endpoints(self) -> list[Endpoint]:
        """Every endpoint (after advancing jobs), ordered by create time then name."""
        with self._db.write() as conn:
            _advance_all(conn)
            rows = conn.execute("SELECT proto FROM endpoints ORDER BY create_time, name")
            return [Endpoint.deserialize(p) for (p,) in rows]

    def undeploy_model(
        self, endpoint_name: str, deployed_model_id: str
    ) -> operations_pb2.Operation:
        """Removes the deployment from the endpoint and from its Model's deployed_models.

        Endpoints here only ever hold the one deployment their run made (there is no
        DeployModel), so the traffic rules for several deployments never arise: undeploying
        the last one leaves the split empty (endpoint_service.proto, UndeployModelRequest).
        """
        with self._db.write() as conn:
            _advance_all(conn)
            endpoint = load_endpoint(conn, endpoint_name)
            deployed = {d.id: d for d in endpoint.deployed_models}
            if deployed_model_id not in deployed:
                raise not_found(
                    f"deployed model {deployed_model_id} not found on endpoint {endpoint_name}"
                )
            model_name = deployed[deployed_model_id].model
            del endpoint.deployed_models[list(deployed).index(deployed_model_id)]
            split = {k: v for k, v in endpoint.traffic_split.items() if k != deployed_model_id}
            endpoint.traffic_split.clear()
            endpoint.traffic_split.update(split)
            endpoint.update_time = clock.to_timestamp(clock.clock_now(conn))
            save_endpoint(conn, endpoint)
            if row(conn, "models", model_name) is not None:
                model = load_model(conn, model_name)
                refs = [
                    r for r in model.deployed_models
                    if (r.endpoint, r.deployed_model_id) != (endpoint_name, deployed_model_id)
                ]
                del model.deployed_models[:]
                model.deployed_models.extend(refs)
                save_model(conn, model)
            return done_operation(
                conn, endpoint_name, UndeployModelOperationMetadata,
                UndeployModelResponse.pb(UndeployModelResponse()),
            )

    def delete_endpoint(self, name: str) -> operations_pb2.Operation:
        with self._db.write() as conn:
            _advance_all(conn)
            endpoint = load_endpoint(conn, name)
            if endpoint.deployed_models:
                ids = ", ".join(d.id for d in endpoint.deployed_models)
                raise EmulatorError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"endpoint {name} still has deployed models ({ids}); undeploy them first",
                )
            conn.execute("DELETE FROM endpoints WHERE name = ?", (name,))
            return done_operation(conn, name, DeleteOperationMetadata, empty_pb2.Empty())

    # -- operations ----------------------------------------------------------------------------

    def get_operation(self, name: str) -> operations_pb2.Operation:
        with self._db.read() as conn:
            found = row(conn, "operations", name)
        if found is None:
            raise not_found(f"operation {name} not found")
        return operations_pb2.Operation.FromString(found)



def _unfinished(conn: sqlite3.Connection, table: str, where: str, value: str) -> int:
    """Jobs in `table` matching `where` that are pending, running or cancelling."""
    done = lifecycle.PIPELINE.terminal if table == "jobs" else lifecycle.TUNING.terminal
    states = tuple(sorted(int(state) for state in done))
    marks = ", ".join("?" * len(states))
    found = conn.execute(f"SELECT count(*) FROM {table} WHERE ({where}) AND state NOT IN "
                         f"({marks})", (value, *states)).fetchone()
    return int(found[0])


def _advance_all(conn: sqlite3.Connection) -> None:
    """Advances every unfinished job of both kinds: their successes add models and endpoints."""
    advance_jobs(conn, "1", ())
    tuning_rows.advance(conn, "1", ())
