"""Datasets end to end: semantic hashing, the cache, gs:// datasets, staged uploads."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from reconciler.cli import main
from reconciler.connect import emulator_state_dir
from reconciler.emulator import start_emulator
from reconciler.emulator.pipelines import PipelineJobs
from reconciler.load import desired as desired_module
from reconciler.load.config import load_config
from reconciler.load.datacache import CACHE_VERSION
from reconciler.load.desired import build_desired
from reconciler.load.files import repository_file
from reconciler.load.limits import MAX_DATASET_LINE_BYTES
from tests.conftest import Repo
from tests.test_cli_apply import BIGQUERY, plan_json

TRAINING = "datasets/bigquery.jsonl"


def rewrite_records(repo: Repo, relative: str, change: Callable[[dict[str, Any]], str]) -> None:
    path = repo.root / relative
    records = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(change(record) + "\n" for record in records))


def upload(repo: Repo, uri: str, data: bytes) -> None:
    """Puts an object into the embedded emulator's storage before the CLI starts it."""
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    with start_emulator(emulator_state_dir(repo.root)) as emulator:
        client = storage.Client(project="t", credentials=AnonymousCredentials(),
                                client_options={"api_endpoint": emulator.storage_endpoint})
        if client.lookup_bucket(bucket) is None:
            client.create_bucket(bucket)
        client.bucket(bucket).blob(name).upload_from_string(data)


@pytest.mark.parametrize("reformat", [
    lambda record: json.dumps(record, indent=None, separators=(", ", ":  ")),
    lambda record: json.dumps(dict(reversed(list(record.items())))),
])
def test_reformatting_a_dataset_is_a_noop(repo: Repo,
                                          reformat: Callable[[dict[str, Any]], str]) -> None:
    repo.cli()
    repo.advance()
    rewrite_records(repo, TRAINING, reformat)
    assert plan_json(repo)["bigquery-snippets"]["action"] == "noop"


def test_one_changed_character_retunes_with_the_dataset_hash_shown(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    repo.edit(TRAINING, "BigQuery", "Bigquery")
    planned = plan_json(repo)["bigquery-snippets"]
    assert planned["action"] == "retune"
    fields = [change["field"] for change in planned["changes"]]
    assert fields == ["dataset_hash"]
    assert planned["changes"][0]["forces_retune"] is True


def test_a_warm_plan_reads_no_dataset_bytes(repo: Repo) -> None:
    config = load_config(repo.root)
    cold = build_desired(config)
    assert cold.bytes_read > 0
    warm = build_desired(load_config(repo.root))
    assert warm.bytes_read == 0
    assert [job.fingerprint for job in warm.jobs] == [job.fingerprint for job in cold.jobs]
    assert warm.warnings == cold.warnings


def test_a_dataset_many_jobs_name_is_looked_up_once(repo: Repo,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for index in range(30):
        repo.write(f"configs/shared-{index}.yaml", f"name: shared-{index}\n"
                   f"task: code-generation\ndataset_uri: {TRAINING}\ntrain_steps: {200 + index}\n")
    looked_up: list[str] = []

    def counted(root: Path, name: str | Path) -> tuple[Path, str]:
        looked_up.append(str(name))
        return repository_file(root, name)

    monkeypatch.setattr(desired_module, "repository_file", counted)
    built = build_desired(load_config(repo.root))
    assert sum(job.datasets[0].path == TRAINING for job in built.jobs) == 31
    assert sorted(looked_up) == sorted(set(looked_up))


def test_a_touched_dataset_is_read_again(repo: Repo) -> None:
    build_desired(load_config(repo.root))
    path = repo.root / TRAINING
    path.write_text(path.read_text() + "\n")
    assert build_desired(load_config(repo.root)).bytes_read == path.stat().st_size


@pytest.mark.parametrize("garbage", ["{not json", '{"version": 2, "files": []}', ""])
def test_a_corrupt_cache_is_ignored_and_rebuilt(repo: Repo, garbage: str) -> None:
    build_desired(load_config(repo.root))
    cache = repo.root / ".reconciler/dataset-cache.json"
    cache.write_text(garbage)
    assert build_desired(load_config(repo.root)).bytes_read > 0
    assert json.loads(cache.read_text())["version"] == CACHE_VERSION
    assert build_desired(load_config(repo.root)).bytes_read == 0


def test_local_datasets_are_uploaded_content_addressed_once(repo: Repo) -> None:
    repo.cli()
    planned = plan_json(repo)
    repo.edit(BIGQUERY, "train_steps: 300", "train_steps: 400")
    repo.cli()
    staged = repo.root / ".reconciler/emulator/storage"
    assert staged.exists()
    with start_emulator(emulator_state_dir(repo.root)) as emulator:
        client = storage.Client(project="t", credentials=AnonymousCredentials(),
                                client_options={"api_endpoint": emulator.storage_endpoint})
        names = sorted(blob.name for blob in client.list_blobs("tuneops-local",
                                                               prefix="staging/datasets/"))
    assert names == sorted({
        f"staging/datasets/{job.labels[label]}.jsonl"
        for job in PipelineJobs(repo.emulator).all()
        for label in ("tuneops-dataset", "tuneops-eval-dataset") if label in job.labels})
    assert len(names) == 3  # bigquery, bigquery-eval, vision-chat: uploaded once each
    assert planned["bigquery-snippets"]["action"] == "running"


def test_gs_dataset_is_hashed_from_metadata(repo: Repo) -> None:
    data = (repo.root / "datasets/vision-chat.jsonl").read_bytes()
    upload(repo, "gs://team-data/chat.jsonl", data)
    repo.edit("configs/cloud-vision-chat.yaml", "dataset_uri: datasets/vision-chat.jsonl",
              "dataset_uri: gs://team-data/chat.jsonl")
    result = repo.cli()
    assert result.code == 0, result.err
    job = next(j for j in PipelineJobs(repo.emulator).all() if j.labels["tuneops-name"] ==
               "cloud-vision-chat")
    assert job.runtime_config.parameter_values["dataset_uri"] == "gs://team-data/chat.jsonl"
    repo.advance()
    assert plan_json(repo)["cloud-vision-chat"]["action"] == "noop"
    upload(repo, "gs://team-data/chat.jsonl", data + data[:200].split(b"\n")[0] + b"\n")
    planned = plan_json(repo)["cloud-vision-chat"]
    assert planned["action"] == "retune"
    assert [c["field"] for c in planned["changes"]] == ["dataset_hash"]


def test_missing_gs_dataset_is_a_located_error(repo: Repo) -> None:
    repo.edit("configs/cloud-vision-chat.yaml", "dataset_uri: datasets/vision-chat.jsonl",
              "dataset_uri: gs://team-data/missing.jsonl")
    result = repo.cli()
    assert result.code == 1
    assert ("configs/cloud-vision-chat.yaml:6:1: cloud-vision-chat: dataset_uri: no such "
            "object gs://team-data/missing.jsonl") in result.err
    assert repo.job_ids() == []


def test_validate_is_offline_and_remote_validates_gs_content(repo: Repo) -> None:
    upload(repo, "gs://team-data/chat.jsonl", b'{"messages": []}\n')
    repo.edit("configs/cloud-vision-chat.yaml", "dataset_uri: datasets/vision-chat.jsonl",
              "dataset_uri: gs://team-data/chat.jsonl")
    assert repo.run("validate").code == 0
    result = repo.run("validate", "--remote")
    assert result.code == 1
    assert "gs://team-data/chat.jsonl:1:1: 'messages' must be a non-empty list" in result.err


def test_warnings_for_duplicates_leakage_and_missing_instructions(repo: Repo) -> None:
    training = repo.root / TRAINING
    lines = training.read_text().splitlines()
    evaluation = (repo.root / "datasets/bigquery-eval.jsonl").read_text().splitlines()
    training.write_text("\n".join([*lines, lines[0], evaluation[0]]) + "\n")
    out = repo.run("validate").out
    assert f"{TRAINING}:{len(lines) + 1}:1: duplicate of line 1" in out
    assert ("datasets/bigquery-eval.jsonl:1:1: 1 evaluation example(s) also appear in the "
            "training set") in out
    assert f"{TRAINING}:2:1: 1 of 26 inputs have no instruction" in out


def test_schema_is_committed_and_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    root = Path(__file__).resolve().parent.parent
    committed = root / "schema/job.schema.json"
    assert printed == json.loads(committed.read_text())
    # The wheel's copy (package data), byte for byte: `cp schema/job.schema.json reconciler/schema/`
    assert (root / "reconciler/schema/job.schema.json").read_bytes() == committed.read_bytes()
    assert printed["discriminator"]["propertyName"] == "kind"
    pipeline = printed["$defs"]["PipelineSpec"]
    assert printed["discriminator"]["mapping"]["pipeline"] == "#/$defs/PipelineSpec"
    assert pipeline["additionalProperties"] is False
    assert "train_steps" in pipeline["properties"]
    assert pipeline["properties"]["kind"]["default"] == "pipeline"


def test_an_over_long_dataset_line_is_one_located_error(repo: Repo) -> None:
    path = repo.root / TRAINING
    with path.open("ab") as stream:
        stream.write(b'{"input_text": "' + b"x" * MAX_DATASET_LINE_BYTES + b'"}\n')
    number = path.read_bytes().count(b"\n")
    result = repo.cli()
    assert result.code == 1
    assert result.err.splitlines() == [
        f"{TRAINING}:{number}:1: line is longer than {MAX_DATASET_LINE_BYTES:,} bytes; one "
        "example may take at most 1 MiB", "1 error; nothing was launched."]
    assert repo.job_ids() == []


def test_a_dataset_the_pipeline_rejects_fails_the_run_not_the_create(repo: Repo) -> None:
    # As on Vertex AI, the pipeline checks examples only when it runs: plan hashes a gs://
    # object from its metadata, the create succeeds, and the job fails with the reason.
    upload(repo, "gs://team-data/chat.jsonl", b'{"messages": []}\n' * 12)
    repo.edit("configs/cloud-vision-chat.yaml", "dataset_uri: datasets/vision-chat.jsonl",
              "dataset_uri: gs://team-data/chat.jsonl")
    assert repo.cli().code == 0
    repo.advance()
    planned = plan_json(repo)["cloud-vision-chat"]
    assert planned["action"] == "failed"
    assert "gs://team-data/chat.jsonl" in planned["error"]
    assert "apply --retry-failed relaunches it" in planned["reason"]
