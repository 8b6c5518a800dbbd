"""End to end: the real CLI and GAPIC client against the embedded emulator."""

from __future__ import annotations

import json

from reconciler.emulator.models import Models
from reconciler.emulator.pipelines import PipelineJobs
from reconciler.kinds import MODEL_LOCATIONS
from reconciler.kinds.open_model import TUNING_LOCATIONS as OPEN_MODEL_LOCATIONS
from reconciler.kinds.tuning_job import TUNING_LOCATIONS
from tests.conftest import Repo

BIGQUERY = "configs/bigquery-snippets.yaml"
VISION = "configs/cloud-vision-chat.yaml"


def plan_json(repo: Repo, *args: str) -> dict[str, dict[str, object]]:
    result = repo.run("plan", "--output", "json", *args)
    assert result.code == 0, result.err
    return {action["name"]: action for action in json.loads(result.out)["actions"]}


def actions(repo: Repo, *args: str) -> dict[str, object]:
    return {name: action["action"] for name, action in plan_json(repo, *args).items()}


def test_first_apply_creates_then_running_then_noop(repo: Repo) -> None:
    first = repo.cli()
    assert first.code == 0, first.err
    assert "Plan: 2 to create" in first.out
    assert "launched" in first.out
    assert len(repo.job_ids()) == 2

    assert actions(repo) == {"bigquery-snippets": "running", "cloud-vision-chat": "running"}
    again = repo.cli()
    assert again.code == 0
    assert "No changes. Nothing launched." in again.out
    assert len(repo.job_ids()) == 2

    repo.advance()
    assert actions(repo) == {"bigquery-snippets": "noop", "cloud-vision-chat": "noop"}
    status = repo.run("status", "--output", "json")
    models = json.loads(status.out)["models"]
    assert sorted(model["name"] for model in models) == ["bigquery-snippets", "cloud-vision-chat"]


def test_dry_run_launches_nothing(repo: Repo) -> None:
    result = repo.cli("--dry-run")
    assert result.code == 0
    assert "Plan: 2 to create" in result.out
    assert repo.job_ids() == []


def test_changed_train_steps_retunes_only_that_job(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    repo.edit(BIGQUERY, "train_steps: 300", "train_steps: 500")
    planned = plan_json(repo)
    assert planned["cloud-vision-chat"]["action"] == "noop"
    retune = planned["bigquery-snippets"]
    assert retune["action"] == "retune"
    assert {"field": "train_steps", "before": 300, "after": 500, "forces_retune": True} in (
        retune["changes"])
    applied = repo.cli()
    assert applied.code == 0
    assert len(repo.job_ids()) == 3
    assert retune["job_id"] in repo.job_ids()


def test_label_or_display_name_change_updates_without_retune(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    repo.edit(BIGQUERY, "labels: {team: data}", "labels: {team: ml}")
    repo.edit(BIGQUERY, "model_display_name: bigquery-snippets", "model_display_name: BQ")
    planned = plan_json(repo)["bigquery-snippets"]
    assert planned["action"] == "update"
    fields = {change["field"]: change for change in planned["changes"]}
    assert fields["labels.team"]["before"] == "data"
    assert fields["labels.team"]["after"] == "ml"
    assert not any(change["forces_retune"] for change in planned["changes"])
    assert repo.cli().code == 0
    assert len(repo.job_ids()) == 2
    assert actions(repo)["bigquery-snippets"] == "noop"
    model = next(m for m in Models(repo.emulator).all() if m.labels["tuneops-name"] ==
                 "bigquery-snippets")
    assert model.display_name == "BQ"
    assert model.labels["team"] == "ml"
    assert model.labels["managed-by"] == "tuneops"


def test_failed_job_is_not_relaunched(repo: Repo) -> None:
    repo.edit(VISION, "labels: {team: vision}", "labels: {team: vision, emulator-outcome: failed}")
    repo.cli()
    repo.advance()
    assert actions(repo)["cloud-vision-chat"] == "failed"
    again = repo.cli()
    assert again.code == 0
    assert len(repo.job_ids()) == 2
    assert "failed on request" in repo.run("plan").out


def test_removed_config_is_orphan_and_nothing_is_deleted(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    (repo.root / VISION).unlink()
    planned = plan_json(repo)
    assert planned["cloud-vision-chat"]["action"] == "orphan"
    assert repo.cli().code == 0
    assert len(Models(repo.emulator).all()) == 2
    assert len(repo.job_ids()) == 2


def test_observing_is_one_list_call_per_resource_type_and_location(repo: Repo) -> None:
    for index in range(12):
        repo.write(f"configs/extra-{index}.yaml", f"name: extra-{index}\ntask: code-chat\n"
                   "dataset_uri: datasets/vision-chat.jsonl\n")
    repo.cli()
    repo.emulator.reset_calls()
    repo.run("plan")
    calls = repo.emulator.calls()
    assert calls.get("ListPipelineJobs") == 2  # us-central1 and europe-west4
    # Each documented Gemini tuning region, listed concurrently; the regions where open
    # models tune too are listed once (one collection: the service lists every kind's jobs).
    assert set(OPEN_MODEL_LOCATIONS) <= set(TUNING_LOCATIONS)
    assert calls.get("ListTuningJobs") == len(TUNING_LOCATIONS)
    # Where pipelines and tuning jobs register Models.
    assert calls.get("ListModels") == len(MODEL_LOCATIONS)
    assert "GetPipelineJob" not in calls


def test_commit_sha_is_a_label_of_launched_jobs(repo: Repo) -> None:
    sha = repo.commit("tune")
    repo.cli()
    labels = {job.labels["tuneops-commit"] for job in PipelineJobs(repo.emulator).all()}
    assert labels == {sha}
