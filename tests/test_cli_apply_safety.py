"""apply is safe for real money: exactly-once under races and faults, reviewed plans only."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from google.cloud.aiplatform_v1.types import PipelineJob

from reconciler.apply.execute import Outcome
from reconciler.commands.apply import DOING, failure_reasons, failures
from reconciler.emulator import start_emulator
from reconciler.emulator.models import Models
from reconciler.emulator.names import parent
from reconciler.emulator.pipelines import PipelineJobs
from reconciler.emulator.tuning_jobs import TuningJobs
from reconciler.plan.actions import ACTION_KINDS
from tests.conftest import Repo
from tests.terminal import on_terminal
from tests.test_cli_apply import BIGQUERY, VISION, actions, plan_json


def add_jobs(repo: Repo, count: int) -> None:
    for index in range(count):
        repo.write(f"configs/extra-{index}.yaml", f"name: extra-{index}\ntask: code-chat\n"
                   f"train_steps: {210 + index}\ndataset_uri: datasets/vision-chat.jsonl\n")


def fingerprints(repo: Repo) -> list[str]:
    return sorted(job.labels["tuneops-fingerprint"] for job in PipelineJobs(repo.emulator).all())


def test_two_concurrent_apply_processes_launch_each_fingerprint_once(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_jobs(repo, 4)
    with start_emulator(tmp_path / "shared", job_seconds=3600) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        command = [sys.executable, "-m", "reconciler", "apply", "--auto-approve",
                   "--root", str(repo.root)]
        processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True) for _ in range(2)]
        results = [process.communicate(timeout=120) for process in processes]
        jobs = PipelineJobs(emulator.store).all()
    assert [process.returncode for process in processes] == [0, 0], results
    labels = [job.labels["tuneops-fingerprint"] for job in jobs]
    assert len(labels) == 6
    assert len(set(labels)) == 6


def test_repeated_apply_converges_under_faults(repo: Repo) -> None:
    add_jobs(repo, 4)
    repo.cli("--dry-run")  # creates the emulator state
    repo.emulator.set_faults(unavailable_rate=0.3, drop_create_response_rate=0.5, seed=7)
    for _ in range(10):
        if repo.cli().code == 0 and set(actions(repo).values()) == {"running"}:
            break
    repo.emulator.set_faults()
    assert set(actions(repo).values()) == {"running"}
    assert len(fingerprints(repo)) == 6
    assert len(set(fingerprints(repo))) == 6
    assert repo.emulator.calls().get("CreatePipelineJob", 0) >= 6


def test_saved_plan_is_applied_exactly(repo: Repo, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert repo.run("plan", "--out", str(saved)).code == 0
    planned = {a["job_id"] for a in json.loads(saved.read_text())["actions"]}
    result = repo.run("apply", str(saved))
    assert result.code == 0, result.err
    assert set(repo.job_ids()) == planned


def test_stale_plan_is_refused_when_configs_changed(repo: Repo, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    repo.run("plan", "--out", str(saved))
    repo.edit(BIGQUERY, "train_steps: 300", "train_steps: 400")
    result = repo.run("apply", str(saved))
    assert result.code == 1
    assert "plan is stale: configs or datasets changed" in result.err
    assert repo.job_ids() == []


def test_stale_plan_is_refused_when_live_state_changed(repo: Repo, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    repo.run("plan", "--out", str(saved))
    repo.cli()
    result = repo.run("apply", str(saved))
    assert result.code == 1
    assert "plan is stale: jobs or Models in Vertex AI changed" in result.err
    assert len(repo.job_ids()) == 2


def test_a_plan_file_that_is_not_a_plan(repo: Repo, tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"version": 99}')
    result = repo.run("apply", str(bad))
    assert result.code == 1
    assert "plan format version 99" in result.err


def test_a_plan_file_of_the_previous_format_is_refused(repo: Repo, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert repo.run("plan", "--out", str(saved)).code == 0
    plan = json.loads(saved.read_text())
    assert plan["version"] == 3
    saved.write_text(json.dumps({**plan, "version": 2}))
    result = repo.run("apply", str(saved))
    assert result.code == 1
    assert "plan format version 2, this reconcile reads version 3; run plan again" in result.err
    assert repo.job_ids() == []


def test_detailed_exitcode(repo: Repo) -> None:
    assert repo.run("plan", "--detailed-exitcode").code == 2
    repo.cli()
    assert repo.run("plan", "--detailed-exitcode").code == 0


def test_apply_to_a_project_without_a_terminal_refuses_to_guess(project_repo: Repo) -> None:
    assert project_repo.service is not None
    result = project_repo.run("apply")
    assert result.code == 1
    assert "pass --auto-approve, or a plan file" in result.err
    assert TuningJobs(project_repo.service).all() == []
    assert project_repo.run("apply", "--auto-approve").code == 0
    assert len(TuningJobs(project_repo.service).all()) == 1


def test_model_deleted_outside_git_is_drift_and_retunes(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    model = next(m for m in Models(repo.emulator).all()
                 if m.labels["tuneops-name"] == "bigquery-snippets")
    Models(repo.emulator).delete_outside(model.name)
    planned = plan_json(repo)["bigquery-snippets"]
    assert planned["action"] == "drift"
    assert "deleted outside git" in planned["reason"]
    assert planned["job_id"].endswith("-r2")
    assert repo.cli().code == 0
    assert planned["job_id"] in repo.job_ids()


def test_model_edited_outside_git_is_drift_and_restored(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    model = next(m for m in Models(repo.emulator).all()
                 if m.labels["tuneops-name"] == "bigquery-snippets")
    Models(repo.emulator).edit_outside(model.name, labels={**model.labels, "team": "hijacked"})
    planned = plan_json(repo)["bigquery-snippets"]
    assert planned["action"] == "drift"
    assert {"field": "labels.team", "before": "hijacked", "after": "data",
            "forces_retune": False} in planned["changes"]
    assert repo.cli().code == 0
    assert actions(repo)["bigquery-snippets"] == "noop"
    assert len(repo.job_ids()) == 2


def test_prune_deletes_only_orphaned_models(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    (repo.root / VISION).unlink()
    result = repo.run("apply", "--prune")
    assert result.code == 0, result.err
    assert [m.labels["tuneops-name"] for m in Models(repo.emulator).all()] == ["bigquery-snippets"]
    assert len(repo.job_ids()) == 2
    assert "cloud-vision-chat" not in actions(repo)


def test_retune_cancels_the_superseded_running_job(repo: Repo) -> None:
    repo.cli()
    old = next(i for i in repo.job_ids() if i.startswith("bigquery-snippets"))
    repo.edit(BIGQUERY, "train_steps: 300", "train_steps: 400")
    planned = plan_json(repo)["bigquery-snippets"]
    # Named as the service names it: by the project's number.
    assert planned["cancel"] == [f"{parent('tuneops-local', 'us-central1')}/pipelineJobs/{old}"]
    assert repo.cli().code == 0
    states = {job.name.rsplit("/", 1)[-1]: job.state.name
              for job in PipelineJobs(repo.emulator).all()}
    assert states[old] == "PIPELINE_STATE_CANCELLING"
    assert states[planned["job_id"]] == "PIPELINE_STATE_PENDING"


def test_cancel_superseded_false_keeps_the_old_job_running(repo: Repo) -> None:
    repo.edit("configs/reconciler.yaml", "region: us-central1",
              "region: us-central1\ncancel_superseded: false")
    repo.cli()
    repo.edit(BIGQUERY, "train_steps: 300", "train_steps: 400")
    assert plan_json(repo)["bigquery-snippets"]["cancel"] == []
    repo.cli()
    assert not any(job.state.name == "PIPELINE_STATE_CANCELLING"
                   for job in PipelineJobs(repo.emulator).all())


def test_retry_failed_relaunches_with_a_new_id(repo: Repo) -> None:
    repo.edit(VISION, "labels: {team: vision}", "labels: {team: vision, emulator-outcome: failed}")
    repo.cli()
    repo.advance()
    result = repo.run("apply", "--retry-failed")
    assert result.code == 0, result.err
    assert any(job_id.startswith("cloud-vision-chat") and job_id.endswith("-r2")
               for job_id in repo.job_ids())
    assert len(repo.job_ids()) == 3


def test_apply_wait_follows_jobs_to_the_end(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEOPS_EMULATOR_JOB_SECONDS", "0.3")
    result = repo.run("apply", "--wait", "--timeout", "60")
    assert result.code == 0, result.err
    assert result.out.count("succeeded") >= 2


def test_apply_wait_exits_1_when_a_job_fails(repo: Repo,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEOPS_EMULATOR_JOB_SECONDS", "0.3")
    repo.edit(VISION, "labels: {team: vision}", "labels: {team: vision, emulator-outcome: failed}")
    result = repo.run("apply", "--wait", "--timeout", "60")
    assert result.code == 1
    assert "failed on request" in result.out
    assert result.out.rstrip().splitlines()[-1] == (
        "Exit code 1: 1 job(s) did not succeed: cloud-vision-chat.")


def test_apply_wait_times_out_with_a_clear_message(repo: Repo) -> None:
    result = repo.run("apply", "--wait", "--timeout", "0")
    assert result.code == 1
    assert "timed out after 0s waiting for bigquery-snippets, cloud-vision-chat" in result.err


# As terraform: only `yes` approves; `y` does not.
@pytest.mark.parametrize(("answer", "code", "jobs"), [(b"no\n", 1, 0), (b"y\n", 1, 0),
                                                      (b"yes\n", 0, 1)])
def test_apply_on_a_terminal_shows_the_plan_and_asks_for_yes(
        project_repo: Repo, answer: bytes, code: int, jobs: int) -> None:
    assert project_repo.service is not None
    exit_code, screen = on_terminal(
        [sys.executable, "-m", "reconciler", "apply", "--root", str(project_repo.root)],
        prompt=b"Enter a value:", answer=answer)
    assert "Plan: 1 to create" in screen
    assert "Do you want to apply this plan to project my-gcp-project?" in screen
    assert "launches 1 tuning job: ≈" in screen  # what is paid for
    assert "Only 'yes' will be accepted to approve." in screen
    assert exit_code == code, screen
    assert len(TuningJobs(project_repo.service).all()) == jobs


@pytest.mark.parametrize("foreign_labels", [
    pytest.param({"tuneops-fingerprint": "0" * 40, "tuneops-name": "bigquery-snippets",
                  "managed-by": "tuneops"}, id="other-fingerprint"),
    pytest.param({}, id="unmanaged"),
])
def test_existing_job_of_another_fingerprint_is_never_adopted(
        repo: Repo, foreign_labels: dict[str, str]) -> None:
    planned: dict[str, Any] = plan_json(repo)["bigquery-snippets"]
    launch = planned["launch"]
    where = parent("tuneops-local", "us-central1")
    # Someone else's job already holds the id tuneops plans (same body, other labels).
    foreign = PipelineJob(display_name="foreign", template_uri=launch["template_uri"],
                          labels=foreign_labels)
    name = f"{where}/pipelineJobs/{planned['job_id']}"
    PipelineJobs(repo.emulator).create(where, "us-central1", name, foreign, 3600)
    result = repo.run("apply", "--auto-approve")
    assert result.code == 1
    [line] = [line for line in result.out.splitlines()
              if line.split()[:2] == ["failed", "bigquery-snippets"]]
    assert "already exists but is not this job's run" in line
    assert "it was not adopted" in line
    # One failing action does not stop the others.
    assert "Apply: 1 done, 1 failed." in result.out
    assert result.out.rstrip().endswith("Exit code 1: 1 launch(es) failed: bigquery-snippets.")
    assert plan_json(repo)["cloud-vision-chat"]["action"] == "running"


def _more_steps(data: dict[str, Any]) -> None:
    data["actions"][0]["launch"]["parameters"]["train_steps"] = 5000


def _upload_a_system_file(data: dict[str, Any]) -> None:
    data["actions"][0]["launch"]["uploads"][0]["source"] = "/etc/passwd"


def _unmanaged_job(data: dict[str, Any]) -> None:
    extra = json.loads(json.dumps(data["actions"][0]))
    extra["name"] = extra["job_id"] = extra["launch"]["pipeline_job_id"] = "unmanaged"
    extra["launch"]["labels"] = {}
    data["actions"].append(extra)


def _drop_a_job(data: dict[str, Any]) -> None:
    data["actions"].pop()


def _other_fingerprint_label(data: dict[str, Any]) -> None:
    data["actions"][0]["launch"]["labels"]["tuneops-fingerprint"] = "0" * 40


@pytest.mark.parametrize("tamper", [_more_steps, _upload_a_system_file, _unmanaged_job,
                                    _drop_a_job, _other_fingerprint_label])
def test_an_edited_plan_file_is_refused_and_nothing_happens(
        repo: Repo, tmp_path: Path, tamper: Any) -> None:
    saved = tmp_path / "plan.json"
    assert repo.run("plan", "--out", str(saved)).code == 0
    data = json.loads(saved.read_text())
    tamper(data)
    saved.write_text(json.dumps(data))
    result = repo.run("apply", str(saved))
    assert result.code == 1
    assert "differs from what planning produces now" in result.err
    assert "nothing was applied" in result.err
    assert repo.job_ids() == []
    assert not list((repo.root / ".reconciler/emulator/storage").rglob("*passwd*"))


def test_an_orphan_added_to_a_plan_file_deletes_nothing(repo: Repo, tmp_path: Path) -> None:
    repo.cli()
    repo.advance()
    models = [model.name for model in Models(repo.emulator).all()]
    saved = tmp_path / "plan.json"
    assert repo.run("plan", "--out", str(saved)).code == 0
    data = json.loads(saved.read_text())
    data["actions"].append({"action": "orphan", "name": "bigquery-snippets", "reason": "x",
                            "job_id": None, "jobs": [], "models": models, "changes": []})
    saved.write_text(json.dumps(data))
    result = repo.run("apply", str(saved), "--prune")
    assert result.code == 1
    assert "differs from what planning produces now" in result.err
    assert [model.name for model in Models(repo.emulator).all()] == models


def _interrupted_apply(repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       signals: list[int]) -> tuple[int, str, int]:
    """Applies 20 jobs one at a time, sending `signals` once the first job exists."""
    add_jobs(repo, 18)
    with start_emulator(tmp_path / "shared", job_seconds=3600) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        # Retried UNAVAILABLE calls make each launch take a few hundred milliseconds.
        emulator.store.set_faults(unavailable_rate=0.5, seed=7)
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--parallelism",
             "1", "--root", str(repo.root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        deadline = time.monotonic() + 60
        while not PipelineJobs(emulator.store).all() and time.monotonic() < deadline:
            select.select([], [], [], 0.02)  # poll the emulator with a deadline
        assert process.stderr is not None
        for index, number in enumerate(signals):
            process.send_signal(number)
            if index + 1 < len(signals):
                # Signals do not queue: let the handler say it saw this one before the next.
                ready, _, _ = select.select([process.stderr], [], [], 30)
                assert ready and "starting nothing new" in process.stderr.readline()
        out, _ = process.communicate(timeout=60)
        return process.returncode, out, len(PipelineJobs(emulator.store).all())


@pytest.mark.parametrize(("number", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_new_launches_and_reports_what_went_out(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, number: int,
        code: int) -> None:
    returncode, out, launched = _interrupted_apply(repo, tmp_path, monkeypatch, [number])
    assert returncode == code
    results = [line.split()[0] for line in out.splitlines()
               if line.startswith("  ") and line.split()[0] in ("launched", "not")]
    assert results.count("launched") == launched
    assert 1 <= launched < 20
    assert results.count("not") == 20 - launched
    assert "not started (interrupted)." in out


def test_a_second_signal_exits_at_once(repo: Repo, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    returncode, out, launched = _interrupted_apply(repo, tmp_path, monkeypatch,
                                                   [signal.SIGINT, signal.SIGINT])
    assert returncode == 130
    assert "Apply:" not in out
    assert launched < 20


def test_the_exit_reasons_name_what_each_failure_was_doing() -> None:
    """A red apply says what failed: a launch, an update, a rename, a prune, or the cancel
    of a superseded run or twin, which the kinds that only report have a step for; an
    evaluation or a promotion. Refused and hold have no step (queued's depends on --wait)."""
    assert set(DOING) | {"queued", "refused", "hold"} == set(ACTION_KINDS)

    def failed(name: str, action: str) -> Outcome:
        return Outcome(name, action, "failed", "PERMISSION_DENIED", ok=False)

    applied = (failed("a", "create"), failed("b", "noop"), Outcome("c", "update", "updated", ""),
               failed("d", "rename"), failed("e", "queued"), failed("f", "running"))
    found = failures(applied, queued="cancel(s)")
    found += failures((failed("g", "queued"),), queued="launch(es)")  # with --wait
    found += failures((failed("h", "evaluate"), failed("i", "promote")), queued="cancel(s)")
    assert failure_reasons(found) == ["2 launch(es) failed: a, g",
                                      "3 cancel(s) failed: b, e, f", "1 rename(s) failed: d",
                                      "1 evaluation(s) failed: h", "1 promotion(s) failed: i"]
