"""Gemini supervised tuning end to end: the real CLI and GenAiTuningServiceClient against
the emulator, with the same plan, guarantees and exactly-once launching as pipelines."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reconciler.edges.storage import Storage
from reconciler.emulator import EmulatorStore, start_emulator
from reconciler.emulator.models import Endpoints, Models
from reconciler.emulator.pipelines import PipelineJobs
from reconciler.emulator.tuning_jobs import TuningJobs
from tests.conftest import GEMINI_CONFIG, Repo, racing_applies
from tests.test_cli_apply import actions, plan_json

DATASET = "datasets/bigquery-gemini.jsonl"
NAME = "bigquery-gemini"


def lease_uri(repo: Repo, name: str = NAME, project: str = "tuneops-local") -> str:
    """Where the planned launch of `name` takes its lease: keyed by project, location, kind,
    name, fingerprint and attempt."""
    launch = plan_json(repo)[name]["launch"]
    labels = launch["labels"]
    return (f"gs://tuneops-local/staging/leases/{project}/{launch['location']}/tuning-job/"
            f"{name}/{labels['tuneops-fingerprint']}/{labels['tuneops-attempt']}")


def tuned(store: EmulatorStore) -> list[str]:
    return sorted(job.name for job in TuningJobs(store).all())


def test_create_then_running_then_noop_with_a_deployed_model(gemini: Repo) -> None:
    result = gemini.cli()
    assert result.code == 0, result.err
    # The service names a TuningJob: the plan shows no id for it before the launch.
    planned = result.out.split("launched")[0]
    assert re.search(r"\+ id += \(known after apply\)", planned), planned
    assert not re.search(r"bigquery-gemini-[0-9a-f]{12}", planned), planned  # the lease
    (job,) = TuningJobs(gemini.emulator).all()
    assert job.base_model == "gemini-2.5-flash"
    spec = job.supervised_tuning_spec
    assert spec.hyper_parameters.epoch_count == 3
    assert spec.hyper_parameters.adapter_size.name == "ADAPTER_SIZE_FOUR"
    assert spec.training_dataset_uri.startswith("gs://tuneops-local/staging/datasets/")
    assert job.labels["tuneops-name"] == NAME
    assert actions(gemini) == {NAME: "running"}
    gemini.advance()
    planned = plan_json(gemini)[NAME]
    assert planned["action"] == "noop", planned
    assert planned["job_id"] == job.name.rsplit("/", 1)[-1]
    status = gemini.run("status")
    assert "tuning-job" in status.out
    model = next(m for m in Models(gemini.emulator).all() if m.labels.get("tuneops-name") == NAME)
    assert model.deployed_models[0].endpoint.rsplit("/", 1)[-1] in status.out


@pytest.mark.parametrize(("change", "field"), [
    (lambda repo: repo.edit(GEMINI_CONFIG, "epoch_count: 3", "epoch_count: 4"), "epoch_count"),
    (lambda repo: repo.edit(DATASET, "list all datasets", "list all Datasets"), "dataset_hash"),
], ids=["epoch_count", "one-dataset-character"])
def test_weights_retune_and_cancel_the_superseded_run(gemini: Repo, change: object,
                                                      field: str) -> None:
    gemini.cli()
    (first,) = tuned(gemini.emulator)
    change(gemini)  # type: ignore[operator]
    planned = plan_json(gemini)[NAME]
    assert planned["action"] == "retune"
    assert [c["field"] for c in planned["changes"] if c["forces_retune"]] == [field]
    assert planned["cancel"] == [first]
    assert gemini.cli().code == 0
    states = {job.name: job.state.name for job in TuningJobs(gemini.emulator).all()}
    assert states[first] in ("JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED")
    assert len(states) == 2


def test_display_name_and_labels_update_in_place(gemini: Repo) -> None:
    gemini.cli()
    gemini.advance()
    gemini.edit(GEMINI_CONFIG, "tuned_model_display_name: bigquery-gemini",
                "tuned_model_display_name: BigQuery Gemini")
    gemini.edit(GEMINI_CONFIG, "labels: {team: data}", "labels: {team: ml}")
    planned = plan_json(gemini)[NAME]
    assert planned["action"] == "update"
    assert sorted(c["field"] for c in planned["changes"]) == ["labels.team",
                                                               "model_display_name"]
    assert gemini.cli().code == 0
    assert len(TuningJobs(gemini.emulator).all()) == 1
    assert actions(gemini)[NAME] == "noop"


def test_a_deleted_model_tunes_again_as_a_second_attempt(gemini: Repo) -> None:
    gemini.cli()
    gemini.advance()
    model = next(m for m in Models(gemini.emulator).all() if m.labels.get("tuneops-name") == NAME)
    Models(gemini.emulator).delete_outside(model.name)
    planned = plan_json(gemini)[NAME]
    assert planned["action"] == "drift"
    assert planned["launch"]["labels"]["tuneops-attempt"] == "2"
    assert gemini.cli().code == 0
    assert len(TuningJobs(gemini.emulator).all()) == 2
    gemini.advance()
    assert actions(gemini)[NAME] == "noop"


def test_a_failed_run_is_relaunched_only_with_retry_failed(gemini: Repo) -> None:
    gemini.edit(GEMINI_CONFIG, "labels: {team: data}",
                "labels: {team: data, emulator-outcome: failed}")
    gemini.cli()
    gemini.advance()
    assert actions(gemini)[NAME] == "failed"
    assert gemini.cli().code == 0
    assert len(TuningJobs(gemini.emulator).all()) == 1
    assert gemini.run("apply", "--retry-failed").code == 0
    assert len(TuningJobs(gemini.emulator).all()) == 2


def test_prune_undeploys_and_deletes_a_tuned_model(gemini: Repo) -> None:
    gemini.cli()
    gemini.advance()
    (gemini.root / GEMINI_CONFIG).unlink()
    assert gemini.run("apply", "--prune", "--allow-empty").code == 0
    assert [m for m in Models(gemini.emulator).all() if m.labels.get("tuneops-name") == NAME] == []
    assert Endpoints(gemini.emulator).all() == []
    assert len(TuningJobs(gemini.emulator).all()) == 1  # history: there is no DeleteTuningJob


def test_pipelines_and_gemini_in_one_plan_one_apply_one_status(mixed_repo: Repo) -> None:
    assert mixed_repo.cli().code == 0
    assert set(actions(mixed_repo).values()) == {"running"}
    mixed_repo.advance()
    assert set(actions(mixed_repo).values()) == {"noop"}
    status = mixed_repo.run("status", "--output", "json")
    kinds = sorted(job["kind"] for job in json.loads(status.out)["jobs"])
    assert kinds == ["open-model", "pipeline", "pipeline", "tuning-job"]


def test_a_project_refuses_to_launch_code_bison_but_still_plans_existing_runs(
        mixed_repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with start_emulator(tmp_path / "vertex", job_seconds=3600) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        assert mixed_repo.cli().code == 0  # while local, the reference's flow still launches
        emulator.store.advance_clock(3600)
        mixed_repo.edit("configs/reconciler.yaml", "# project: my-gcp-project",
                        "project: tuneops-local")
        mixed_repo.edit("configs/cloud-vision-chat.yaml", "train_steps: 200",
                        "train_steps: 250")
        mixed_repo.commit("a project")
        planned = plan_json(mixed_repo)
        assert planned["bigquery-snippets"]["action"] == "noop"
        assert planned[NAME]["action"] == "noop"
        refused = planned["cloud-vision-chat"]
        assert refused["action"] == "refused"
        assert "shut down on Vertex AI on 2025-04-09" in refused["reason"]
        assert "kind: tuning-job" in refused["reason"]
        jobs = len(PipelineJobs(emulator.store).all())
        result = mixed_repo.run("apply", "--auto-approve")
        assert result.code == 1
        # The run is red, and its last line says why (the summary alone says no failure).
        assert result.out.rstrip().splitlines()[-1] == (
            "Exit code 1: 1 job(s) refused, which this target cannot launch: "
            "cloud-vision-chat.")
        assert len(PipelineJobs(emulator.store).all()) == jobs


def _racing_applies(repo: Repo, emulator_dir: Path, processes: int,
                    monkeypatch: pytest.MonkeyPatch, **faults: float) -> EmulatorStore:
    configs = {f"configs/gemini-{index}.yaml":
               f"kind: tuning-job\nname: gemini-{index}\nbase_model: gemini-2.5-flash\n"
               f"training_dataset_uri: {DATASET}\nepoch_count: {index + 1}\n"
               for index in range(10)}
    return racing_applies(repo, configs, emulator_dir, processes, monkeypatch, seed=3,
                          **faults)


def _fingerprints(store: EmulatorStore) -> list[str]:
    return sorted(job.labels["tuneops-fingerprint"] for job in TuningJobs(store).all())


@pytest.mark.parametrize("faults", [{}, {"drop_create_response_rate": 0.5}],
                         ids=["clean", "half-the-create-responses-lost"])
def test_four_racing_applies_launch_each_gemini_job_once(
        gemini: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        faults: dict[str, float]) -> None:
    store = _racing_applies(gemini, tmp_path / "shared", 4, monkeypatch, **faults)
    fingerprints = _fingerprints(store)
    assert len(fingerprints) == 11  # ten configs and the example
    assert len(set(fingerprints)) == 11


def test_a_lease_whose_holder_died_before_creating_is_taken_over(
        gemini: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An apply killed (kill -9) between taking the lease and creating the job leaves this.
    monkeypatch.setenv("TUNEOPS_LEASE_SECONDS", "0")
    with start_emulator(tmp_path / "shared", job_seconds=3600) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        uri = lease_uri(gemini)
        storage = Storage.connect("tuneops-local", emulator.storage_endpoint)
        assert storage.write_if(uri, {"holder": "killed", "since": 0, "job": ""}, 0)
        result = gemini.run("apply", "--auto-approve")
        assert result.code == 0, result.out
        assert len(TuningJobs(emulator.store).all()) == 1
        lease = storage.read_lease(uri)
        assert lease is not None
        assert lease.body["job"] == TuningJobs(emulator.store).all()[0].name
        assert gemini.run("apply", "--auto-approve").code == 0
        assert len(TuningJobs(emulator.store).all()) == 1


def test_a_live_lease_without_a_job_is_waited_for_then_reported(
        gemini: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with start_emulator(tmp_path / "shared", job_seconds=3600) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        monkeypatch.setenv("TUNEOPS_LEASE_SECONDS", "3600")
        uri = lease_uri(gemini)
        storage = Storage.connect("tuneops-local", emulator.storage_endpoint)
        storage.write_if(uri, {"holder": "elsewhere:1", "since": 9e12, "job": ""}, 0)
        monkeypatch.setenv("TUNEOPS_LEASE_WAIT_SECONDS", "0")
        result = gemini.run("apply", "--auto-approve")
        assert result.code == 1
        assert "another apply (elsewhere:1) holds the launch lease" in result.out
        assert TuningJobs(emulator.store).all() == []


def test_convert_dataset_keeps_line_numbers_in_errors(repo: Repo) -> None:
    source = repo.write("datasets/mixed.jsonl",
                        '{"input_text": "Write it: a", "output_text": "b"}\n\n'
                        '{"messages": [{"author": "assistant", "content": "x"}]}\n'
                        "{oops\n")
    result = repo.run("convert-dataset", str(source), str(repo.root / "datasets/out.jsonl"))
    assert result.code == 1
    lines = result.err.splitlines()
    assert lines[0].startswith(f"{source}:3:1: messages[0].author must be 'user'")
    assert lines[1].startswith(f"{source}:4:2: invalid JSON")
    assert lines[-1] == "2 errors; nothing was written."
    assert not (repo.root / "datasets/out.jsonl").exists()


def test_a_tuned_model_without_the_jobs_labels_is_found_through_the_job(gemini: Repo) -> None:
    gemini.cli("--dry-run")
    assert gemini.run("emulator", "quirks", "--no-model-labels", "--root",
                      str(gemini.root)).code == 0
    gemini.cli()
    gemini.advance()
    planned = plan_json(gemini)[NAME]
    assert planned["action"] == "update"
    assert "lacks tuneops' labels" in planned["reason"]
    assert gemini.cli().code == 0
    assert actions(gemini)[NAME] == "noop"
    assert len(TuningJobs(gemini.emulator).all()) == 1
