"""Issue 17: the real Vertex AI as it may be. Each test is one behaviour the service has (or
may have) that the emulator once did not, driven through the real CLI and GAPIC clients
against a standalone emulator set to behave so; tests/test_service_matrix.py runs the
guarantees under every setting."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
from google.cloud.aiplatform_v1.types import JobState

from reconciler.edges.storage import Storage
from reconciler.emulator import EmulatorStore
from reconciler.emulator.models import Endpoints, Models
from reconciler.emulator.names import project_number
from reconciler.emulator.quirks import Quirks
from reconciler.emulator.tuning_jobs import TuningJobs
from tests.conftest import GEMINI_CONFIG, Repo
from tests.test_cli_apply import plan_json
from tests.test_service_matrix import foreign_job

NAME = "bigquery-gemini"
# A project's apply refuses uncommitted configs; these tests edit them in place.
APPLY = ("apply", "--auto-approve", "--allow-dirty")
PRUNE = (*APPLY, "--prune", "--allow-empty")
# project_repo's jobs take an hour; this is long past their end.
DONE = 7200


def _service(repo: Repo) -> EmulatorStore:
    assert repo.service is not None
    return repo.service


def _models(repo: Repo, name: str = NAME) -> list[str]:
    return sorted(m.name for m in Models(_service(repo)).all()
                  if m.labels.get("tuneops-name", name) == name)


def _applied(repo: Repo, *args: str) -> str:
    result = repo.run(*(args or APPLY))
    assert result.code == 0, (result.out, result.err)
    return result.out


def _tuned(repo: Repo) -> Repo:
    """The example Gemini job launched and succeeded."""
    _applied(repo)
    _service(repo).advance_clock(DONE)
    assert plan_json(repo)[NAME]["action"] == "noop"
    return repo


def test_names_carry_the_project_number_and_plans_never_compare_them(project_repo: Repo
                                                                      ) -> None:
    repo = _tuned(project_repo)
    status = json.loads(repo.run("status", "--output", "json").out)
    number = project_number("my-gcp-project")
    assert status["jobs"][0]["resource"].startswith(f"projects/{number}/")
    assert status["models"][0]["resource"].startswith(f"projects/{number}/")
    # Adoption, records and leases never compare a built name with the service's.
    assert repo.run(*APPLY).code == 0
    assert len(TuningJobs(_service(repo)).all()) == 1


def test_prune_removes_the_endpoint_of_every_checkpoint(project_repo: Repo) -> None:
    """Intermediate checkpoints are the default, each deployed to an endpoint of its own:
    all of them are the run's, and prune removes them with the Model."""
    repo = _tuned(project_repo)
    (job,) = TuningJobs(_service(repo)).all()
    assert len(job.tuned_model.checkpoints) == 3
    assert len(Endpoints(_service(repo)).all()) == 3
    (repo.root / GEMINI_CONFIG).unlink()
    out = _applied(repo, *PRUNE)
    assert "pruned" in out
    assert Endpoints(_service(repo)).all() == []
    assert _models(repo) == []


def test_an_undeletable_tuned_model_is_retired_once_not_an_orphan_forever(
        project_repo: Repo) -> None:
    _service(project_repo).set_quirks(delete_tuned_model=False)
    repo = _tuned(project_repo)
    (model,) = _models(repo)
    (repo.root / GEMINI_CONFIG).unlink()
    out = _applied(repo, *PRUNE)
    assert "1 model(s) retired, since the service refuses to delete them" in out
    assert Endpoints(_service(repo)).all() == []  # what costs money is gone
    assert _models(repo) == [model]
    planned = json.loads(repo.run("plan", "--output", "json").out)
    assert planned["actions"] == []
    assert planned["retired"] == [model]
    assert "1 model(s) retired" in repo.run("plan").out
    again = repo.run(*PRUNE)
    assert again.code == 0
    assert "No changes. Nothing launched." in again.out


def test_an_operation_that_outlasts_its_wait_fails_that_action_alone(
        project_repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _tuned(project_repo)
    monkeypatch.setenv("TUNEOPS_OPERATION_SECONDS", "0.2")
    _service(repo).set_faults(operation_seconds=3600)
    (repo.root / GEMINI_CONFIG).unlink()
    repo.write("configs/other.yaml", "kind: tuning-job\nname: other\nbase_model: "
               "gemini-2.5-flash\ntraining_dataset_uri: datasets/bigquery-gemini.jsonl\n")
    result = repo.run(*PRUNE)
    assert result.code == 1
    assert "unexpected error" not in result.err
    outcomes = {line.split()[1]: line for line in result.out.splitlines()
                if line.startswith("  ") and line.split()[0] in ("failed", "launched")}
    assert outcomes[NAME].split()[0] == "failed"
    assert "still running after 0.2 s; it goes on in Vertex AI: run the same apply again" in (
        outcomes[NAME])
    assert outcomes["other"].split()[0] == "launched"
    # The operation ends in Vertex AI; the same apply then finishes the prune.
    _service(repo).set_faults()
    _service(repo).advance_clock(DONE)
    _applied(repo, *PRUNE)
    assert _models(repo) == []
    assert Endpoints(_service(repo)).all() == [e for e in Endpoints(_service(repo)).all()
                                               if e.labels.get("tuneops-name") == "other"]


@pytest.mark.parametrize("quirk", [{"cancel_outcome": "succeeded"},
                                   {"cancelled_runs_leave_model": True}],
                         ids=["completes-despite-cancel", "cancelled-run-leaves-model"])
def test_what_a_cancelled_run_leaves_is_shown_and_pruned(project_repo: Repo,
                                                         quirk: dict[str, object]) -> None:
    repo = project_repo
    _service(repo).set_quirks(**quirk)
    _applied(repo)
    _service(repo).advance_clock(3000)  # two of three epochs
    repo.edit(GEMINI_CONFIG, "epoch_count: 3", "epoch_count: 4")
    assert plan_json(repo)[NAME]["cancel"]
    _applied(repo)
    _service(repo).advance_clock(DONE)
    planned = plan_json(repo)[NAME]
    assert planned["action"] == "noop"
    (left,) = planned["leftovers"]
    assert left["model"] in _models(repo)
    assert "apply --prune removes it" in repo.run("plan").out
    pruned = _applied(repo, *APPLY, "--prune")
    assert left["model"] not in _models(repo), pruned
    assert len(_models(repo)) == 1  # the desired run's Model stays
    assert plan_json(repo)[NAME]["leftovers"] == []
    assert {e.name for e in Endpoints(_service(repo)).all()} == {
        ref.endpoint for m in Models(_service(repo)).all() for ref in m.deployed_models}


def test_a_run_that_completed_despite_its_cancel_is_kept_when_git_goes_back_to_it(
        project_repo: Repo) -> None:
    repo = project_repo
    _service(repo).set_quirks(cancel_outcome="succeeded")
    _applied(repo)
    repo.edit(GEMINI_CONFIG, "epoch_count: 3", "epoch_count: 4")
    _applied(repo)
    _service(repo).advance_clock(DONE)
    repo.edit(GEMINI_CONFIG, "epoch_count: 4", "epoch_count: 3")
    planned = plan_json(repo)[NAME]
    assert planned["action"] == "noop"
    assert planned["leftovers"] == []


def test_the_tuning_quota_is_one_per_project_in_limits(project_repo: Repo) -> None:
    repo = project_repo
    repo.write("configs/tokyo.yaml", "kind: tuning-job\nname: tokyo\nbase_model: "
               "gemini-2.5-flash\ntraining_dataset_uri: datasets/bigquery-gemini.jsonl\n"
               "tuning_location: asia-northeast1\n")
    repo.edit("configs/reconciler.yaml", "region: us-central1",
              "region: us-central1\nlimits: {global: {tuning-job: 1}}")
    planned = plan_json(repo)
    assert sorted(a["action"] for a in planned.values()) == ["create", "queued"]
    queued = next(a for a in planned.values() if a["action"] == "queued")
    assert "1 of 1 tuning-job job(s) running across all locations" in queued["reason"]


def test_a_per_location_limit_of_a_project_wide_quota_is_an_error_at_its_line(
        project_repo: Repo) -> None:
    repo = project_repo
    repo.edit("configs/reconciler.yaml", "region: us-central1",
              "region: us-central1\nlimits: {us-central1: {tuning-job: 1}}")
    result = repo.run("validate")
    assert result.code == 1
    assert result.err.startswith("configs/reconciler.yaml:")
    assert "one quota per project, shared across every location: set their limit under " \
           "global" in result.err


def _two_jobs(repo: Repo) -> None:
    repo.write("configs/second.yaml", "kind: tuning-job\nname: second\nbase_model: "
               "gemini-2.5-flash\ntraining_dataset_uri: datasets/bigquery-gemini.jsonl\n"
               "tuning_location: europe-west4\n")


def test_a_quota_refusal_known_only_by_its_details_waits_as_queued(project_repo: Repo) -> None:
    repo = project_repo
    _two_jobs(repo)
    _service(repo).set_quota({"global": {"tuning-job": 1}})
    _service(repo).set_quirks(quota_error="details")
    result = repo.run(*APPLY)
    assert result.code == 0, result.out
    results = sorted(line.split()[0] for line in result.out.splitlines()
                     if line.startswith("  ") and line.split()[0] in ("launched", "queued"))
    assert results == ["launched", "queued"]
    assert "concurrent_tuning_jobs" in result.out
    assert len(TuningJobs(_service(repo)).all()) == 1


def test_a_job_the_service_queues_for_quota_is_shown_as_such(project_repo: Repo) -> None:
    repo = project_repo
    _two_jobs(repo)
    _service(repo).set_quota({"global": {"tuning-job": 1}})
    _service(repo).set_quirks(quota_mode="queue")
    _applied(repo)
    states = sorted(job.state for job in TuningJobs(_service(repo)).all())
    assert states == [JobState.JOB_STATE_QUEUED, JobState.JOB_STATE_PENDING]
    reasons = [a["reason"] for a in plan_json(repo).values() if a["action"] == "running"]
    assert any("queued by the service" in reason for reason in reasons)
    status = json.loads(repo.run("status", "--output", "json").out)
    assert sorted(job["state"] for job in status["jobs"]) == ["pending", "queued"]


FUNCTION_CALLING = (
    '{"system_instruction": {"parts": [{"text": "You find products."}]}, "contents": ['
    '{"role": "user", "parts": [{"text": "Is the Pixel 8 Pro in stock?"}]}, '
    '{"role": "model", "parts": [{"functionCall": {"name": "get_sku", "args": '
    '{"product": "Pixel 8 Pro"}}}]}, '
    '{"role": "user", "parts": [{"functionResponse": {"name": "get_sku", "response": '
    '{"sku": "GA04"}}}]}, '
    '{"role": "model", "parts": [{"text": "Yes, GA04 is in stock."}]}], '
    '"tools": [{"functionDeclarations": [{"name": "get_sku"}]}]}\n')
SINGLE_TURN = ('{"contents": [{"parts": [{"text": "2+2?"}]}, {"parts": [{"text": "4"}]}]}\n')


def test_the_documented_dataset_extras_are_accepted(project_repo: Repo) -> None:
    repo = project_repo
    repo.write("datasets/bigquery-gemini.jsonl", (FUNCTION_CALLING + SINGLE_TURN) * 10)
    result = repo.run("validate")
    assert result.code == 0, result.err
    repo.write("datasets/bigquery-gemini.jsonl", '{"contents": [{"parts": [{"text": "a"}]}, '
               '{"parts": [{"text": "b"}]}, {"parts": [{"text": "c"}]}]}\n' * 20)
    refused = repo.run("validate")
    assert refused.code == 1
    assert "only a single-turn example may leave them unset" in refused.err


def test_status_reports_what_the_service_dropped(project_repo: Repo) -> None:
    repo = project_repo
    storage = Storage.connect("my-gcp-project", os.environ["TUNEOPS_STORAGE_ENDPOINT"])
    storage.ensure_bucket("gs://tuneops-local")
    lines = (repo.root / "datasets/bigquery-gemini.jsonl").read_text().splitlines()
    blob = storage.client.bucket("tuneops-local").blob("data/train.jsonl")
    blob.upload_from_string("\n".join([*lines, "not json", '{"contents": []}']) + "\n")
    repo.edit(GEMINI_CONFIG, "training_dataset_uri: datasets/bigquery-gemini.jsonl",
              "training_dataset_uri: gs://tuneops-local/data/train.jsonl")
    _applied(repo)
    _service(repo).advance_clock(DONE)
    (job,) = json.loads(repo.run("status", "--output", "json").out)["jobs"]
    assert job["notes"][:2] == [f"{len(lines)} examples tuned", "2 dropped"]
    assert "billable tokens" in job["notes"][2]
    assert "the service says" in repo.run("status").out


def test_a_job_in_any_documented_region_plans(project_repo: Repo) -> None:
    repo = project_repo
    repo.edit(GEMINI_CONFIG, "adapter_size: 4", "adapter_size: 4\ntuning_location: me-west1")
    assert plan_json(repo)[NAME]["launch"]["location"] == "me-west1"
    _applied(repo)
    (job,) = TuningJobs(_service(repo)).all()
    assert "/locations/me-west1/" in job.name


def test_labels_absent_and_refused_neither_relaunch_nor_loop(project_repo: Repo) -> None:
    repo = project_repo
    _service(repo).set_quirks(model_labels=False, update_model_labels=False)
    _applied(repo)
    _service(repo).advance_clock(DONE)
    first = plan_json(repo)[NAME]
    assert first["action"] == "update"  # the plan tries to label it once
    out = _applied(repo)
    assert "the service refuses this Model's labels" in out
    assert plan_json(repo)[NAME]["action"] == "noop"
    repo.edit(GEMINI_CONFIG, "labels: {team: data}", "labels: {team: ml}")
    planned = plan_json(repo)[NAME]
    assert planned["action"] == "noop"
    assert "labels in git are not applied" in planned["reason"]
    assert len(TuningJobs(_service(repo)).all()) == 1


def test_a_list_filter_ignored_never_touches_another_teams_job(project_repo: Repo) -> None:
    repo = project_repo
    _service(repo).set_quirks(list_filter="ignored")
    _tuned(repo)
    foreign = foreign_job("my-gcp-project")
    assert "orphan" not in {a["action"] for a in plan_json(repo).values()}
    (repo.root / GEMINI_CONFIG).unlink()
    _applied(repo, *PRUNE)
    state = next(j.state for j in TuningJobs(_service(repo)).all() if j.name == foreign)
    assert state in (JobState.JOB_STATE_PENDING, JobState.JOB_STATE_RUNNING)


def test_a_list_filter_refused_is_listed_without(project_repo: Repo) -> None:
    repo = project_repo
    _service(repo).set_quirks(list_filter="rejected")
    _tuned(repo)
    assert plan_json(repo)[NAME]["action"] == "noop"


def test_every_switch_is_set_from_the_cli(gemini: Repo) -> None:
    gemini.cli("--dry-run")  # creates the emulator's state
    root = ("--root", str(gemini.root))
    result = gemini.run("emulator", "quirks", "--no-model-labels", "--list-filter", "ignored",
                        "--list-lag", "2", "--no-update-model-labels", "--no-delete-tuned-model",
                        "--cancel-outcome", "succeeded", "--cancelled-runs-leave-model",
                        "--quota-mode", "queue", "--quota-error", "details", "--rouge-recall",
                        "--max-page-size", "7", "--oversized-page", "refused", *root)
    assert result.code == 0, result.err
    # Every switch, none at its default: a switch the CLI cannot set fails here.
    every = Quirks(model_labels=False, list_filter="ignored", list_lag_seconds=2.0,
                   update_model_labels=False, delete_tuned_model=False,
                   cancel_outcome="succeeded", cancelled_runs_leave_model=True,
                   quota_mode="queue", quota_error="details", rouge_recall=True,
                   max_page_size=7, oversized_page="refused")
    assert all(getattr(every, field.name) != getattr(Quirks(), field.name)
               for field in dataclasses.fields(Quirks))
    assert gemini.emulator.quirks() == every
    assert gemini.run("emulator", "faults", "--operation-seconds", "90", *root).code == 0
    assert gemini.emulator.faults().operation_seconds == 90
    wrong = gemini.run("emulator", "quirks", "--list-filter", "sometimes", *root)
    assert wrong.code == 1
    assert wrong.err.startswith("reconcile: emulator quirks: list_filter must be one of")
    assert gemini.run("emulator", "quota", "global:tuning-job=2", *root).code == 0
    assert gemini.emulator.quota() == {"global": {"tuning-job": 2}}
    refused = gemini.run("emulator", "quota", "us-central1:tuning-job=2", *root)
    assert refused.code == 1
    assert "tuning-job quota is one per project: write global:KIND=N" in refused.err
