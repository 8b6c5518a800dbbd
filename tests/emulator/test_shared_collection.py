"""Services whose jobs share a collection (two versions of one API, each running its own kind
of job) serve each other's jobs: read, listed newest first across both, and cancelled, each
as the reading service's own message; each table keeps its own lifecycle and registration."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from google.cloud import aiplatform_v1, aiplatform_v1beta1

from reconciler.emulator import clock, lifecycle
from reconciler.emulator.errors import EmulatorError
from reconciler.emulator.filters import parse_filter
from reconciler.emulator.jobs import LIFECYCLE_COLUMNS, JobStore, JobTable
from reconciler.emulator.quota import Metric
from reconciler.emulator.service import Jobs, Service, State

PARENT = "projects/p/locations/us-central1"
registered: list[tuple[str, str]] = []


def _table(name: str, api: Any) -> JobTable:
    states = lifecycle.States(api.JobState, api.JobState.JOB_STATE_PENDING,
                              api.JobState.JOB_STATE_RUNNING, api.JobState.JOB_STATE_SUCCEEDED,
                              api.JobState.JOB_STATE_FAILED, api.JobState.JOB_STATE_CANCELLING,
                              api.JobState.JOB_STATE_CANCELLED)

    def register(conn: sqlite3.Connection, job: Any, at: float) -> None:
        registered.append((name, job.name))

    return JobTable(name, "tuningJobs", "tuning job", api.TuningJob, states, register,
                    display_name="''")


V1 = _table("v1_jobs", aiplatform_v1)
BETA = _table("beta_jobs", aiplatform_v1beta1)
# A collection of another name: never served by either.
OTHER = JobTable("other_jobs", "otherJobs", "other job", aiplatform_v1.TuningJob, V1.states,
                 V1.register, display_name="''")


def _service(table: JobTable) -> Service:
    return Service(serve=lambda context: [],
                   tables=f"CREATE TABLE IF NOT EXISTS {table.table} ({LIFECYCLE_COLUMNS});",
                   jobs=Jobs(Metric(table.table, "m"), table))


def _insert(state: State, table: JobTable, number: int, job: Any) -> str:
    with state.db.write() as conn:
        now = clock.clock_now(conn) + number  # distinct create times: a known list order
        job.name = f"{PARENT}/tuningJobs/{number}"
        job.state = table.states.pending
        table.insert(conn, job, parent=PARENT, now=now, job_seconds=10.0)
    return str(job.name)


@pytest.fixture
def state(tmp_path: Path) -> State:
    registered.clear()
    return State(tmp_path, [_service(V1), _service(BETA), _service(OTHER)])


def test_each_version_reads_and_lists_the_others_jobs_as_its_own_message(state: State) -> None:
    gemini = _insert(state, V1, 1, aiplatform_v1.TuningJob(base_model="gemini-2.5-flash",
                                                           labels={"k": "v1"}))
    llama = _insert(state, BETA, 2, aiplatform_v1beta1.TuningJob(
        base_model="meta/llama3_1@llama-3.1-8b", output_uri="gs://b/out", labels={"k": "b"},
        supervised_tuning_spec={"tuning_mode": "TUNING_MODE_FULL"}))
    v1, beta = JobStore[Any](state, V1), JobStore[Any](state, BETA)
    read = v1.get(llama)
    assert isinstance(read, aiplatform_v1.TuningJob)
    assert read.base_model == "meta/llama3_1@llama-3.1-8b"
    # The fields v1 lacks survive the trip: the v1beta1 view still shows them.
    assert beta.get(llama).output_uri == "gs://b/out"
    assert isinstance(beta.get(gemini), aiplatform_v1beta1.TuningJob)
    everything = parse_filter("", frozenset({"labels", "state"}))
    for store in (v1, beta):
        page, token = store.page(PARENT, everything, 0, "")
        assert [job.name for job in page] == [llama, gemini] and token == ""
    first, token = v1.page(PARENT, everything, 1, "")
    second, _ = v1.page(PARENT, everything, 1, token)
    assert [first[0].name, second[0].name] == [llama, gemini]
    only = parse_filter('labels.k="b"', frozenset({"labels", "state"}))
    assert [job.name for job in v1.page(PARENT, only, 0, "")[0]] == [llama]
    # Its own jobs only: what a test inspects of one service.
    assert [job.name for job in v1.all()] == [gemini]


def test_a_job_is_cancelled_and_advanced_by_its_own_table(state: State) -> None:
    llama = _insert(state, BETA, 1, aiplatform_v1beta1.TuningJob(base_model="meta/x"))
    gemini = _insert(state, V1, 2, aiplatform_v1.TuningJob(base_model="gemini-2.5-flash"))
    cancelled = JobStore[Any](state, V1).cancel(llama)
    assert cancelled.state == aiplatform_v1.JobState.JOB_STATE_CANCELLING
    with state.db.write() as conn:
        clock.advance(conn, 60)
        state.advance_jobs(conn)
    assert registered == [("v1_jobs", gemini)]  # the cancelled job registers nothing
    assert JobStore[Any](state, BETA).get(gemini).state == (
        aiplatform_v1beta1.JobState.JOB_STATE_SUCCEEDED)


def test_another_collection_is_not_served(state: State) -> None:
    other = _insert(state, OTHER, 1, aiplatform_v1.TuningJob(base_model="gemini-2.5-flash"))
    with pytest.raises(EmulatorError, match="not found"):
        JobStore[Any](state, V1).get(other)
    assert JobStore[Any](state, OTHER).get(other).name == other
