"""Open-model tuning end to end: the real CLI and aiplatform_v1beta1 GenAiTuningServiceClient
against the emulator, with the same plan, guarantees and exactly-once launching as Gemini."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.edges.storage import Storage
from reconciler.emulator import EmulatorStore, start_emulator
from reconciler.emulator.models import Endpoints, Models
from reconciler.emulator.open_models import OpenModelTuningJobs
from reconciler.emulator.pipelines import PipelineJobs
from reconciler.emulator.tuning_jobs import TuningJobs
from reconciler.kinds.tuning_job import TUNING_LOCATIONS
from tests.conftest import OPEN_MODEL_CONFIG, Repo, racing_applies
from tests.test_cli_apply import actions, plan_json

NAME = "bigquery-llama"
DATASET = "datasets/bigquery-llama.jsonl"
LLAMA = "meta/llama3_1@llama-3.1-8b-instruct"


def tuned(store: EmulatorStore) -> list[str]:
    return sorted(job.name for job in OpenModelTuningJobs(store).all())


def _model(repo: Repo) -> str:
    (model,) = [m.name for m in Models(repo.emulator).all()
                if m.labels.get("tuneops-name") == NAME]
    return model


def test_create_then_running_then_noop_with_a_deployed_model(llama: Repo) -> None:
    result = llama.cli()
    assert result.code == 0, result.err
    # The service names a TuningJob: the plan shows no id for it before the launch.
    planned = result.out.split("launched")[0]
    assert "an open-model tuning job in us-central1" in planned
    assert re.search(r"\+ id += \(known after apply\)", planned), planned
    assert re.search(r"\+ tuning_mode += \"?PEFT_ADAPTER", planned), planned
    assert not re.search(rf"{NAME}-[0-9a-f]{{12}}", planned), planned  # the lease
    (job,) = OpenModelTuningJobs(llama.emulator).all()
    assert job.base_model == LLAMA
    spec = job.supervised_tuning_spec
    assert spec.tuning_mode.name == "TUNING_MODE_PEFT_ADAPTER"
    assert (spec.hyper_parameters.epoch_count, spec.hyper_parameters.learning_rate) == (3, 2e-4)
    assert spec.hyper_parameters.adapter_size.name == "ADAPTER_SIZE_SIXTEEN"
    assert spec.training_dataset_uri.startswith("gs://tuneops-local/staging/datasets/")
    assert spec.validation_dataset_uri.startswith("gs://tuneops-local/staging/datasets/")
    assert job.output_uri.startswith(f"gs://tuneops-local/staging/outputs/{NAME}-")
    assert job.labels["tuneops-name"] == NAME
    assert TuningJobs(llama.emulator).all() == []  # nothing went through v1
    assert actions(llama) == {NAME: "running"}
    llama.advance()
    planned = plan_json(llama)[NAME]
    assert planned["action"] == "noop", planned
    assert planned["job_id"] == job.name.rsplit("/", 1)[-1]
    assert llama.cli().code == 0
    assert len(tuned(llama.emulator)) == 1
    status = json.loads(llama.run("status", "--output", "json").out)
    assert [(j["name"], j["kind"], j["state"]) for j in status["jobs"]] == [
        (NAME, "open-model", "succeeded")]
    model = Models(llama.emulator).get(_model(llama))
    assert model.deployed_models[0].endpoint.rsplit("/", 1)[-1] in llama.run("status").out


@pytest.mark.parametrize(("change", "field"), [
    (lambda repo: repo.edit(OPEN_MODEL_CONFIG, "learning_rate: 2e-4", "learning_rate: 1e-4"),
     "learning_rate"),
    (lambda repo: repo.edit(OPEN_MODEL_CONFIG, "adapter_size: 16", "adapter_size: 16\n"
                            "batch_size: 4"), "batch_size"),
    (lambda repo: repo.edit(DATASET, "list all datasets", "list all Datasets"), "dataset_hash"),
], ids=["learning_rate", "batch_size", "one-dataset-character"])
def test_weights_retune_and_cancel_the_superseded_run(
        llama: Repo, change: Callable[[Repo], None], field: str) -> None:
    llama.cli()
    (first,) = tuned(llama.emulator)
    change(llama)
    planned = plan_json(llama)[NAME]
    assert planned["action"] == "retune"
    assert [c["field"] for c in planned["changes"] if c["forces_retune"]] == [field]
    assert planned["cancel"] == [first]
    assert llama.cli().code == 0
    states = {job.name: job.state.name for job in OpenModelTuningJobs(llama.emulator).all()}
    assert states[first] in ("JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED")
    assert len(states) == 2
    # The new run writes its artifacts in a directory of its own.
    assert len({job.output_uri for job in OpenModelTuningJobs(llama.emulator).all()}) == 2


def test_display_name_and_labels_update_in_place(llama: Repo) -> None:
    llama.cli()
    llama.advance()
    llama.edit(OPEN_MODEL_CONFIG, "tuned_model_display_name: bigquery-llama",
               "tuned_model_display_name: BigQuery Llama")
    llama.edit(OPEN_MODEL_CONFIG, "labels: {team: data}", "labels: {team: ml}")
    planned = plan_json(llama)[NAME]
    assert planned["action"] == "update"
    assert sorted(c["field"] for c in planned["changes"]) == ["labels.team",
                                                               "model_display_name"]
    assert llama.cli().code == 0
    model = Models(llama.emulator).get(_model(llama))
    assert (model.display_name, model.labels["team"]) == ("BigQuery Llama", "ml")
    assert len(tuned(llama.emulator)) == 1
    assert actions(llama)[NAME] == "noop"


def test_a_deleted_model_drifts_and_tunes_again_as_a_second_attempt(llama: Repo) -> None:
    llama.cli()
    llama.advance()
    Models(llama.emulator).delete_outside(_model(llama))
    planned = plan_json(llama)[NAME]
    assert planned["action"] == "drift"
    assert planned["launch"]["labels"]["tuneops-attempt"] == "2"
    assert llama.cli().code == 0
    assert len(tuned(llama.emulator)) == 2
    llama.advance()
    assert actions(llama)[NAME] == "noop"


def test_prune_undeploys_and_deletes_a_tuned_model(llama: Repo) -> None:
    llama.cli()
    llama.advance()
    (llama.root / OPEN_MODEL_CONFIG).unlink()
    assert actions(llama) == {NAME: "orphan"}
    assert llama.run("apply", "--prune", "--allow-empty").code == 0
    assert [m for m in Models(llama.emulator).all() if m.labels.get("tuneops-name") == NAME] == []
    assert Endpoints(llama.emulator).all() == []
    assert len(tuned(llama.emulator)) == 1  # history: there is no DeleteTuningJob


def test_prune_deletes_a_model_that_serves_nowhere(llama: Repo) -> None:
    """Whether open-model runs deploy their Model is undocumented: one that does not (here
    undeployed outside tuneops) is pruned all the same."""
    llama.cli()
    llama.advance()
    model = Models(llama.emulator).get(_model(llama))
    (deployed,) = model.deployed_models
    Endpoints(llama.emulator).undeploy(deployed.endpoint, deployed.deployed_model_id)
    (llama.root / OPEN_MODEL_CONFIG).unlink()
    result = llama.run("apply", "--prune", "--allow-empty")
    assert result.code == 0, result.out
    assert model.name not in [m.name for m in Models(llama.emulator).all()]


def test_three_kinds_in_one_plan_one_apply_one_status(mixed_repo: Repo) -> None:
    planned = plan_json(mixed_repo)
    assert {name: (a["action"], a["launch"]["kind"]) for name, a in planned.items()} == {
        "bigquery-snippets": ("create", "pipeline"), "cloud-vision-chat": ("create", "pipeline"),
        "bigquery-gemini": ("create", "tuning-job"), NAME: ("create", "open-model")}
    markdown = mixed_repo.run("plan", "--output", "markdown").out
    assert all(f"`{name}`" in markdown for name in planned)
    assert mixed_repo.cli().code == 0
    assert set(actions(mixed_repo).values()) == {"running"}
    mixed_repo.advance()
    mixed_repo.emulator.reset_calls()
    assert set(actions(mixed_repo).values()) == {"noop"}
    # The collection both kinds of TuningJob share is listed once a location (Gemini's four
    # regions hold open models' two), each job read as its own kind: the open-model job,
    # listed through the v1 client in us-central1, reads back every v1beta1 field (noop).
    # One list call per Gemini tuning region: open models tune in two of them, listed once.
    assert mixed_repo.emulator.calls()["ListTuningJobs"] == len(TUNING_LOCATIONS)
    status = json.loads(mixed_repo.run("status", "--output", "json").out)
    assert sorted((job["name"], job["kind"]) for job in status["jobs"]) == [
        ("bigquery-gemini", "tuning-job"), (NAME, "open-model"),
        ("bigquery-snippets", "pipeline"), ("cloud-vision-chat", "pipeline")]
    assert len(status["models"]) == 4
    store = mixed_repo.emulator
    assert (len(PipelineJobs(store).all()), len(TuningJobs(store).all()),
            len(tuned(store))) == (2, 1, 1)
    # A change to one kind re-tunes that job only.
    mixed_repo.edit(OPEN_MODEL_CONFIG, "epoch_count: 3", "epoch_count: 4")
    assert {n: a for n, a in actions(mixed_repo).items() if a != "noop"} == {NAME: "retune"}


def _racing_applies(repo: Repo, emulator_dir: Path, processes: int,
                    monkeypatch: pytest.MonkeyPatch, **faults: float) -> EmulatorStore:
    configs = {f"configs/llama-{index}.yaml":
               f"kind: open-model\nname: llama-{index}\nbase_model: {LLAMA}\n"
               f"tuning_mode: FULL\ntraining_dataset_uri: {DATASET}\n"
               f"epoch_count: {index + 1}\n" for index in range(6)}
    return racing_applies(repo, configs, emulator_dir, processes, monkeypatch, seed=7,
                          **faults)


@pytest.mark.parametrize("faults", [{}, {"drop_create_response_rate": 0.5}],
                         ids=["clean", "half-the-create-responses-lost"])
def test_racing_applies_launch_each_open_model_job_once(
        llama: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        faults: dict[str, float]) -> None:
    store = _racing_applies(llama, tmp_path / "shared", 3, monkeypatch, **faults)
    fingerprints = [job.labels["tuneops-fingerprint"] for job in OpenModelTuningJobs(store).all()]
    assert len(fingerprints) == 7  # six configs and the example
    assert len(set(fingerprints)) == 7


def test_a_lost_create_response_is_adopted_not_launched_twice(
        llama: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with start_emulator(tmp_path / "shared", job_seconds=3600) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        emulator.store.set_faults(drop_create_response_rate=1.0, seed=1)
        result = llama.run("apply", "--auto-approve")
        assert result.code == 0, result.out
        emulator.store.set_faults()
        (job,) = OpenModelTuningJobs(emulator.store).all()
        assert job.name.rsplit("/", 1)[-1] in result.out
        assert emulator.store.calls()["CreateTuningJob"] == 1  # found by label, not retried
        # Its lease is keyed like every run's: project, location, kind, name, fingerprint and
        # attempt.
        storage = Storage.connect("tuneops-local", emulator.storage_endpoint)
        leases = [blob.name for blob in storage.client.list_blobs(
            "tuneops-local", prefix="staging/leases/")]
        fingerprint = job.labels["tuneops-fingerprint"]
        assert leases == [f"staging/leases/tuneops-local/us-central1/open-model/{NAME}/"
                          f"{fingerprint}/1"]
        assert llama.run("apply", "--auto-approve").code == 0
        assert len(OpenModelTuningJobs(emulator.store).all()) == 1
