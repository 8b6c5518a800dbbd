"""Quota-aware launching: `limits:` queues what would run past them, a create refused for
quota waits instead of failing, and apply --wait launches the queue as slots free."""

from __future__ import annotations

import pytest

from reconciler.emulator.pipelines import PipelineJobs
from tests.conftest import Repo
from tests.test_cli_apply import actions, plan_json

JOBS = ("a-first", "b-second", "c-third")


@pytest.fixture
def three(repo: Repo) -> Repo:
    """Three pipeline jobs in config order a, b, c, in one file (config order is file order)."""
    for config in ("configs/bigquery-snippets.yaml", "configs/cloud-vision-chat.yaml"):
        (repo.root / config).unlink()
    repo.write("configs/jobs.yaml", "\n---\n".join(
        f"name: {name}\ntask: code-chat\ntrain_steps: {200 + index}\n"
        "dataset_uri: datasets/vision-chat.jsonl\n" for index, name in enumerate(
            ("c-third", "a-first", "b-second"))))
    repo.commit("three jobs")
    return repo


def _limit(repo: Repo, text: str) -> None:
    repo.edit("configs/reconciler.yaml", "region: us-central1", f"region: us-central1\n{text}")


def _running(repo: Repo) -> list[str]:
    return sorted(job.labels["tuneops-name"] for job in PipelineJobs(repo.emulator).all()
                  if job.state.name in ("PIPELINE_STATE_PENDING", "PIPELINE_STATE_RUNNING"))


def test_a_limit_launches_in_config_order_and_queues_the_rest(three: Repo) -> None:
    _limit(three, "limits: {us-central1: {pipeline: 1}}")
    planned = plan_json(three)
    assert planned["c-third"]["action"] == "create"  # first in its file
    for name in ("a-first", "b-second"):
        assert planned[name]["action"] == "queued"
        assert planned[name]["reason"].startswith(
            "waits for quota: 1 of 1 pipeline job(s) running in us-central1")
    assert three.run("plan", "--detailed-exitcode").code == 2
    assert three.cli().code == 0
    assert _running(three) == ["c-third"]
    assert actions(three) == {"a-first": "queued", "b-second": "queued", "c-third": "running"}
    three.advance()
    assert three.cli().code == 0
    assert _running(three) == ["a-first"]
    three.advance()
    three.cli()
    three.advance()
    assert set(actions(three).values()) == {"noop"}


def test_apply_wait_drains_the_queue(three: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    # Real seconds: the emulator's jobs end on their own while apply --wait polls.
    monkeypatch.setenv("TUNEOPS_EMULATOR_JOB_SECONDS", "0.3")
    _limit(three, "limits: {us-central1: {pipeline: 1}}")
    result = three.run("apply", "--wait", "--timeout", "60")
    assert result.code == 0, result.out
    assert "2 job(s) wait for quota" in result.out
    jobs = PipelineJobs(three.emulator).all()
    assert sorted(job.labels["tuneops-name"] for job in jobs) == sorted(JOBS)
    assert {job.state.name for job in jobs} == {"PIPELINE_STATE_SUCCEEDED"}


def test_a_create_refused_for_quota_is_queued_not_failed(three: Repo) -> None:
    three.cli("--dry-run")  # creates the emulator's state
    assert three.run("emulator", "quota", "us-central1:pipeline=2", "--root",
                     str(three.root)).code == 0
    result = three.cli()
    assert result.code == 0, result.out
    lines = [line.split() for line in result.out.splitlines() if line.startswith("  ")]
    results = sorted(words[0] for words in lines if words[0] in ("launched", "queued"))
    assert results == ["launched", "launched", "queued"]
    assert "exceed quota limits" in result.out
    assert len(_running(three)) == 2
    three.advance()
    assert three.cli().code == 0
    assert len(PipelineJobs(three.emulator).all()) == 3


def test_an_unknown_quota_spelling_is_one_line(three: Repo) -> None:
    three.cli("--dry-run")
    result = three.run("emulator", "quota", "us-central1=2", "--root", str(three.root))
    assert result.code == 1
    assert "expected LOCATION:KIND=N" in result.err


def test_priority_goes_before_config_order(three: Repo) -> None:
    _limit(three, "limits: {us-central1: {pipeline: 1}}")
    three.edit("configs/jobs.yaml", "name: b-second", "name: b-second\npriority: 10")
    planned = plan_json(three)
    assert planned["b-second"]["action"] == "create"
    assert {planned[name]["action"] for name in ("a-first", "c-third")} == {"queued"}
