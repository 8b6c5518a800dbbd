"""The emulator reads jobs through indexes and advances only the jobs that are due, so no call
costs more as jobs pile up (a first apply of thousands of creates stays linear)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from google.cloud.aiplatform_v1.types import JobState, PipelineState

from reconciler.emulator import EmulatorStore, sqlite
from reconciler.emulator.db import DB_FILE
from reconciler.emulator.models import Models
from reconciler.emulator.pipelines import PipelineJobs
from tests.emulator.helpers import JOB_SECONDS, PARENT, job_body, tuning_body

pytestmark = pytest.mark.usefixtures("datasets")
JOB_TABLES = ("jobs", "tuning_jobs")
TABLES = (*JOB_TABLES, "models", "endpoints")


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement the emulator runs from now on, with its values filled in."""
    seen: list[str] = []
    connect = sqlite.connect

    def traced(path: Path, busy_timeout: float) -> sqlite3.Connection:
        conn = connect(path, busy_timeout)
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(sqlite, "connect", traced)
    yield seen


def query_plans(state_dir: Path, statements: list[str]) -> dict[str, list[str]]:
    """What SQLite does for each distinct read or write of a job, Model or Endpoint table."""
    plans = {}
    with closing(sqlite3.connect(state_dir / DB_FILE)) as conn:
        for statement in dict.fromkeys(statements):
            words = statement.split()
            if words[0] in ("SELECT", "UPDATE", "DELETE") and set(words) & set(TABLES):
                plans[statement] = [row[3] for row in
                                    conn.execute(f"EXPLAIN QUERY PLAN {statement}")]
    return plans


def test_no_call_scans_a_table_and_advancing_reads_only_due_jobs(
        pipelines, tuning, models, endpoints, store, state_dir, statements):
    # Jobs in every state: succeeded (with their Models), running, pending, cancelling.
    for index in range(6):
        pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(),
                                      pipeline_job_id=f"old-{index}")
        tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    store.advance_clock(JOB_SECONDS * 2)
    running = pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(),
                                            pipeline_job_id="running")
    store.advance_clock(JOB_SECONDS * 0.5)
    pending = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    store.set_quota({"us-central1": {"pipeline": 100}, "global": {"tuning-job": 100}})
    statements.clear()

    pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(),
                                  pipeline_job_id="new")
    tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    paged = pipelines.list_pipeline_jobs(request={"parent": PARENT, "page_size": 3})
    assert len(list(paged)) == 8
    assert len(list(tuning.list_tuning_jobs(parent=PARENT))) == 8
    [model, *_] = models.list_models(parent=PARENT)
    models.get_model(name=model.name)
    # A pipeline run's one endpoint, a Gemini run's one per checkpoint (an epoch each).
    assert len(list(endpoints.list_endpoints(parent=PARENT))) == 6 + 6 * 3
    pipelines.get_pipeline_job(name=running.name)
    tuning.cancel_tuning_job(name=pending.name)

    plans = query_plans(state_dir, statements)
    scans = {statement: plan for statement, plan in plans.items()
             if any(step.startswith("SCAN") for step in plan)}
    assert scans == {}
    advances = {statement: plan for statement, plan in plans.items()
                if " WHERE due <= " in statement}
    assert advances, "no read advanced any job"
    for statement, plan in advances.items():  # the due jobs, or the one job named
        assert any("due<?" in step or "(name=?)" in step for step in plan), (statement, plan)


def test_a_state_dir_of_an_emulator_before_due_keeps_moving_its_jobs(pipelines, store,
                                                                     state_dir):
    early = pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(),
                                          pipeline_job_id="early")
    store.advance_clock(JOB_SECONDS * 0.5)
    late = pipelines.create_pipeline_job(parent=PARENT, pipeline_job=job_body(),
                                         pipeline_job_id="late")
    assert pipelines.get_pipeline_job(name=early.name).state == (
        PipelineState.PIPELINE_STATE_RUNNING)
    with closing(sqlite3.connect(state_dir / DB_FILE)) as conn, conn:
        for (index,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%due)'"
                ).fetchall():
            conn.execute(f"DROP INDEX {index}")
        for table in JOB_TABLES:
            conn.execute(f"ALTER TABLE {table} DROP COLUMN due")

    older = EmulatorStore(state_dir)
    older.advance_clock(JOB_SECONDS * 0.2)  # `late` runs now, `early` is not done yet
    assert {job.name: job.state for job in PipelineJobs(older).all()} == {
        early.name: PipelineState.PIPELINE_STATE_RUNNING,
        late.name: PipelineState.PIPELINE_STATE_RUNNING}
    older.advance_clock(JOB_SECONDS * 0.4)  # `early` is done
    assert {job.name: job.state for job in PipelineJobs(older).all()} == {
        early.name: PipelineState.PIPELINE_STATE_SUCCEEDED,
        late.name: PipelineState.PIPELINE_STATE_RUNNING}
    older.advance_clock(JOB_SECONDS)
    assert {job.state for job in PipelineJobs(older).all()} == {
        PipelineState.PIPELINE_STATE_SUCCEEDED}
    assert len(Models(older).all()) == 2


def test_a_cancelled_job_ends_when_its_cancel_is_due(tuning, store):
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=tuning_body())
    tuning.cancel_tuning_job(name=job.name)
    assert tuning.get_tuning_job(name=job.name).state == JobState.JOB_STATE_CANCELLING
    store.advance_clock(2)
    assert tuning.get_tuning_job(name=job.name).state == JobState.JOB_STATE_CANCELLED


def test_a_commit_does_not_wait_for_the_disk(state_dir):
    # synchronous=NORMAL (1) under WAL: durable through a crashed process; every emulated
    # call commits, and FULL made each commit wait for an fsync.
    EmulatorStore(state_dir)
    with closing(sqlite.connect(state_dir / DB_FILE, 1.0)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1
