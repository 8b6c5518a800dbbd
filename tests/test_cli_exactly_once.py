"""Exactly once, also with a slow holder: lease renewal, twins, lost responses. The real
CLI (in processes of their own where applies race) and GAPIC clients against a standalone
emulator that delays creates or loses replies on request; no test sleeps."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.cloud.aiplatform_v1 import GenAiTuningServiceClient
from google.cloud.aiplatform_v1.services.gen_ai_tuning_service.transports import (
    GenAiTuningServiceGrpcTransport,
)
from google.cloud.aiplatform_v1.types import JobState, TuningJob

from reconciler.backends import pipeline, tuning_job
from reconciler.edges.storage import Storage
from reconciler.emulator import Emulator, start_emulator
from reconciler.emulator.tuning_jobs import TuningJobs
from tests.conftest import Repo
from tests.test_cli_apply import plan_json

NAME = "bigquery-gemini"
LEASES = "staging/leases/"
ACTIVE = (JobState.JOB_STATE_PENDING, JobState.JOB_STATE_RUNNING)


@dataclass
class Shared:
    repo: Repo
    emulator: Emulator


@pytest.fixture
def shared(gemini: Repo, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Shared]:
    """The Gemini example on a standalone emulator that every apply process talks to."""
    with start_emulator(tmp_path / "shared", job_seconds=3600) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        Storage.connect("tuneops-local", emulator.storage_endpoint).ensure_bucket(
            "gs://tuneops-local/staging")
        yield Shared(gemini, emulator)


def _apply_process(repo: Repo) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "reconciler", "apply", "--auto-approve",
                             "--root", str(repo.root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _lease_taken(shared: Shared) -> bool:
    client = Storage.connect("tuneops-local", shared.emulator.storage_endpoint).client
    return any(True for _ in client.list_blobs("tuneops-local", prefix=LEASES))


def _race_a_slow_holder(shared: Shared, *, latency: float = 0.0,
                        hold: int = 0) -> list[tuple[int, str]]:
    """Apply A takes the lease and stalls in its create: the emulator serves creates
    `latency` seconds late, or holds them until `hold` have arrived. Apply B starts once A
    holds the lease. Both are real `reconcile apply` processes."""
    shared.emulator.store.set_faults(create_latency_seconds=latency, hold_creates_for=hold)
    first = _apply_process(shared.repo)
    deadline = time.monotonic() + 120
    while not _lease_taken(shared):  # poll with a deadline: A holds the lease now
        assert time.monotonic() < deadline, first.communicate()
        assert first.poll() is None, first.communicate()
    second = _apply_process(shared.repo)
    results = [process.communicate(timeout=300) for process in (first, second)]
    shared.emulator.store.set_faults()
    return [(process.returncode, out + err)
            for process, (out, err) in zip((first, second), results, strict=True)]


def _active(shared: Shared) -> list[TuningJob]:
    return [job for job in TuningJobs(shared.emulator.store).all() if job.state in ACTIVE]


def test_a_slow_holder_renews_its_lease_so_nobody_takes_it_over(
        shared: Shared, monkeypatch: pytest.MonkeyPatch) -> None:
    # Its create takes 8 s; unrenewed, its lease would be stale after 4 s.
    monkeypatch.setenv("TUNEOPS_LEASE_SECONDS", "4")
    outcomes = _race_a_slow_holder(shared, latency=8.0)
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert "launched" in outcomes[0][1]
    assert "adopted" in outcomes[1][1]
    assert len(TuningJobs(shared.emulator.store).all()) == 1


def test_a_twin_of_a_slow_holder_is_cancelled_at_once(
        shared: Shared, monkeypatch: pytest.MonkeyPatch) -> None:
    # A lease of 0 s cannot be renewed in time: B takes it over while A's create is still on
    # its way, and both creates land. The younger is cancelled by the apply that made it.
    # A's create is held until B's has arrived too, and served first: however slowly B
    # starts, it cannot find A's job already there (a timed delay could not promise that).
    monkeypatch.setenv("TUNEOPS_LEASE_SECONDS", "0")
    outcomes = _race_a_slow_holder(shared, hold=2)
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    jobs = sorted(TuningJobs(shared.emulator.store).all(), key=lambda job: job.create_time)
    assert len(jobs) == 2
    older, younger = jobs
    assert older.state in ACTIVE
    assert younger.state in (JobState.JOB_STATE_CANCELLING, JobState.JOB_STATE_CANCELLED)
    assert f"cancelled twin {younger.name.rsplit('/', 1)[-1]}" in outcomes[1][1]
    assert "adopted" in outcomes[1][1]
    planned = plan_json(shared.repo)[NAME]
    assert planned["action"] == "running"
    assert planned["job_id"] == older.name.rsplit("/", 1)[-1]
    assert planned["twins"] == []


def _twin(shared: Shared, job: TuningJob) -> TuningJob:
    """Creates a second job of the same run, as a holder overtaken in its create would."""
    import grpc  # noqa: PLC0415

    channel = grpc.insecure_channel(shared.emulator.api_endpoint)
    try:
        client = GenAiTuningServiceClient(transport=GenAiTuningServiceGrpcTransport(
            channel=channel))
        copy = TuningJob(base_model=job.base_model,
                         supervised_tuning_spec=job.supervised_tuning_spec,
                         tuned_model_display_name=job.tuned_model_display_name,
                         labels=dict(job.labels))
        return client.create_tuning_job(parent=job.name.rsplit("/tuningJobs/", 1)[0],
                                        tuning_job=copy)
    finally:
        channel.close()


def test_every_plan_finds_twins_and_apply_cancels_the_younger(shared: Shared) -> None:
    repo = shared.repo
    assert repo.run("apply", "--auto-approve").code == 0
    (older,) = TuningJobs(shared.emulator.store).all()
    younger = _twin(shared, older)
    planned = plan_json(repo)[NAME]
    assert planned["action"] == "running"
    assert planned["job_id"] == older.name.rsplit("/", 1)[-1]
    assert planned["twins"] == [younger.name]
    assert repo.run("plan", "--detailed-exitcode").code == 2
    text = repo.run("plan").out
    assert (f"cancels {younger.name.rsplit('/', 1)[-1]} (a twin: the same run launched twice; "
            "the older is kept)") in text
    result = repo.run("apply", "--auto-approve")
    assert result.code == 0, result.out
    assert f"cancelled twin {younger.name.rsplit('/', 1)[-1]}" in result.out
    assert [job.name for job in _active(shared)] == [older.name]
    assert plan_json(repo)[NAME]["twins"] == []
    # Once the older succeeds, the cancelled twin is no failure of the fingerprint.
    shared.emulator.store.advance_clock(3600)
    assert plan_json(repo)[NAME]["action"] == "noop"


def test_a_lease_whose_create_response_was_lost_is_recognised_as_ours(
        shared: Shared, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without recognising its own write, the apply would wait on itself as on another holder.
    monkeypatch.setenv("TUNEOPS_LEASE_WAIT_SECONDS", "0")
    shared.emulator.lose_storage_responses(LEASES)
    result = shared.repo.run("apply", "--auto-approve")
    assert result.code == 0, (result.out, result.err)
    assert "launched" in result.out
    assert len(TuningJobs(shared.emulator.store).all()) == 1


def test_an_outcome_says_what_is_true_at_the_end(
        shared: Shared, monkeypatch: pytest.MonkeyPatch) -> None:
    # The one try at the create is committed and its reply lost: the job exists, so the
    # outcome is not "failed ... response lost".
    monkeypatch.setattr(tuning_job, "CREATE_ATTEMPTS", 1)
    shared.emulator.store.set_faults(drop_create_response_rate=1.0)
    result = shared.repo.run("apply", "--auto-approve")
    shared.emulator.store.set_faults()
    assert result.code == 0, result.out
    assert "response lost" not in result.out
    (job,) = TuningJobs(shared.emulator.store).all()
    assert f"launched  {NAME}  {job.name.rsplit('/', 1)[-1]}" in result.out


def test_a_pipeline_create_whose_reply_was_lost_is_adopted_not_failed(
        repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    # One try each, every reply lost: the jobs exist, so neither outcome is "failed".
    monkeypatch.setattr(pipeline, "retry_policy", lambda: None)
    assert repo.cli("--dry-run").code == 0
    repo.emulator.set_faults(drop_create_response_rate=1.0)
    result = repo.run("apply")
    repo.emulator.set_faults()
    assert result.code == 0, result.out
    assert "response lost" not in result.out
    assert result.out.count("adopted ") == 2
    assert len(repo.job_ids()) == 2
