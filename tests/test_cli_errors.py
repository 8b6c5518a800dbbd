"""Bad input: one line per problem with file:line:col, exit 1, no traceback, nothing launched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reconciler.commands import status
from tests.conftest import GEMINI_CONFIG, Repo

BIGQUERY = "configs/bigquery-snippets.yaml"


def assert_rejected(repo: Repo, *expected: str) -> list[str]:
    result = repo.cli()
    assert result.code == 1
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    for text in expected:
        assert any(text in line for line in lines), (text, lines)
    assert lines[-1].endswith("nothing was launched.")
    assert repo.job_ids() == []
    return lines


@pytest.mark.parametrize(("old", "new", "expected"), [
    # An unclosed `[` is reported where it opens, not where the parser noticed.
    ("train_steps: 300", "train_steps: [300",
     "configs/bigquery-snippets.yaml:8:14: invalid YAML: this '[' is never closed"),
    ("train_steps: 300", "\ttrain_steps: 300",
     "configs/bigquery-snippets.yaml:8:1: invalid YAML: tabs are not allowed for indentation"),
    ("train_steps: 300", "trian_steps: 300",
     "configs/bigquery-snippets.yaml:8:1: bigquery-snippets: unknown key 'trian_steps'; "
     "did you mean 'train_steps'?"),
    ("train_steps: 300", "train_steps: lots",
     "configs/bigquery-snippets.yaml:8:1: bigquery-snippets: train_steps: Input should be a "
     "valid integer, not 'lots'"),
    ("train_steps: 300", "train_steps: 300\ntrain_steps: 400",
     "configs/bigquery-snippets.yaml:9:1: train_steps: duplicate key (first defined at line 8)"),
    ("task: code-generation", "task: code-chat",
     "configs/bigquery-snippets.yaml:5:1: bigquery-snippets: task code-chat tunes "
     "codechat-bison@001, not code-bison@001"),
    ("name: bigquery-snippets", "name: BigQuery",
     "configs/bigquery-snippets.yaml:3:1: BigQuery: name must be 1 to 40 lowercase letters, "
     "digits and hyphens, starting with a letter, not 'BigQuery'"),
    ("dataset_uri: datasets/bigquery.jsonl", "dataset_uri: datasets/missing.jsonl",
     "configs/bigquery-snippets.yaml:6:1: bigquery-snippets: dataset_uri: no such file "
     "datasets/missing.jsonl"),
])
def test_bad_job_file(repo: Repo, old: str, new: str, expected: str) -> None:
    repo.edit(BIGQUERY, old, new)
    assert_rejected(repo, expected)


def test_missing_required_key(repo: Repo) -> None:
    repo.edit(BIGQUERY, "dataset_uri: datasets/bigquery.jsonl\n", "")
    assert_rejected(repo, "configs/bigquery-snippets.yaml:3:1: bigquery-snippets: missing "
                          "required key 'dataset_uri'")


def test_duplicate_name_names_both_places(repo: Repo) -> None:
    repo.write("configs/team/copy.yaml", "# copy\n---\nname: bigquery-snippets\ntask: code-chat\n"
               "dataset_uri: datasets/vision-chat.jsonl\n")
    assert_rejected(repo, "configs/team/copy.yaml:3:1: bigquery-snippets: name is already used "
                          "at configs/bigquery-snippets.yaml:3:1; job names must be unique")


def test_every_error_of_every_file_is_reported(repo: Repo) -> None:
    repo.edit(BIGQUERY, "train_steps: 300", "train_steps: -1")
    repo.edit("configs/cloud-vision-chat.yaml", "train_steps: 200", "trainsteps: 200")
    lines = assert_rejected(repo, "bigquery-snippets.yaml:8:1", "cloud-vision-chat.yaml:7:1")
    assert lines[-1] == "2 errors; nothing was launched."


def test_a_bad_default_points_at_reconciler_yaml(repo: Repo) -> None:
    repo.edit("configs/reconciler.yaml", "tuning_location: us-central1",
              "tuning_location: asia-east1")
    assert_rejected(repo, "configs/reconciler.yaml:6:3: bigquery-snippets: tuning_location: "
                          "Input should be 'us-central1' or 'europe-west4'")


def test_unknown_setting(repo: Repo) -> None:
    repo.edit("configs/reconciler.yaml", "region: us-central1", "regoin: us-central1")
    assert_rejected(repo, "configs/reconciler.yaml:3:1: settings: unknown key 'regoin'; "
                          "did you mean 'region'?")


def test_invalid_dataset_line_is_located(repo: Repo) -> None:
    path = repo.root / "datasets/bigquery.jsonl"
    lines = path.read_text().splitlines()
    lines[3] = '{"input_text": "Calculate the sum of a list of integers.",'
    path.write_text("\n".join(lines) + "\n")
    assert_rejected(repo, "datasets/bigquery.jsonl:4:59: the JSON object does not end on this "
                          "line")


def test_unknown_command_option_is_one_line(repo: Repo) -> None:
    result = repo.run("plan", "--frobnicate")
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "--frobnicate" in result.err


def _outside_file(repo: Repo) -> str:
    outside = repo.root.parent / "secret.jsonl"
    outside.write_text('{"input_text": "x", "output_text": "y"}\n' * 20)
    return str(outside)


def _relative_escape(repo: Repo) -> str:
    _outside_file(repo)
    return "../secret.jsonl"


def _symlink_out(repo: Repo) -> str:
    (repo.root / "datasets/link.jsonl").symlink_to(_outside_file(repo))
    return "datasets/link.jsonl"


def _directory(repo: Repo) -> str:
    return "datasets"


def _fifo(repo: Repo) -> str:
    os.mkfifo(repo.root / "datasets/pipe.jsonl")
    return "datasets/pipe.jsonl"


@pytest.mark.parametrize(("make", "message"), [
    (_outside_file, "is outside the repository; a dataset must be a file inside it"),
    (_relative_escape, "../secret.jsonl is outside the repository"),
    (_symlink_out, "datasets/link.jsonl is outside the repository"),
    (_directory, "datasets is a directory, not a file"),
    (_fifo, "datasets/pipe.jsonl is a named pipe, not a file"),
])
@pytest.mark.parametrize("project", [False, True], ids=["emulator", "project"])
def test_a_dataset_path_must_be_a_regular_file_inside_the_repository(
        request: pytest.FixtureRequest, make: Any, message: str, project: bool) -> None:
    # With a project, the dirty-tree check must not trip over the path first; a project
    # tunes Gemini (the example's training_dataset_uri is at line 6 too).
    repo: Repo = request.getfixturevalue("project_repo" if project else "repo")
    uri = make(repo)
    config, name, key = ((GEMINI_CONFIG, "bigquery-gemini", "training_dataset_uri") if project
                         else (BIGQUERY, "bigquery-snippets", "dataset_uri"))
    old = next(line for line in (repo.root / config).read_text().splitlines()
               if line.startswith(f"{key}: "))
    repo.edit(config, old, f"{key}: {uri}")
    expected = f"{config}:6:1: {name}: {key}: "
    for command in (["validate"], ["plan"], ["apply", "--auto-approve", "--allow-dirty"]):
        result = repo.run(*command)
        assert result.code == 1, (command, result.err)
        assert "Traceback" not in result.err
        line = result.err.splitlines()[0]
        assert line.startswith(expected) and message in line, (command, line)
    assert repo.job_ids() == []


def test_a_project_without_credentials_is_one_line(repo: Repo) -> None:
    repo.edit("configs/reconciler.yaml", "# project: my-gcp-project", "project: my-gcp-project")
    # A process of its own: google-auth reads NO_GCE_CHECK (skip the metadata server) once.
    env = {**os.environ, "NO_GCE_CHECK": "true", "GOOGLE_CLOUD_PROJECT": "my-gcp-project"}
    result = subprocess.run([sys.executable, "-m", "reconciler", "plan", "--root",
                             str(repo.root)], env=env, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("reconcile: no Google Cloud credentials found")
    assert result.stderr.count("\n") == 1


def test_the_error_log_is_written_in_the_repository(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**_: Any) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(status, "status_command", broken)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = repo.run("status")
    assert result.code == 3
    log = repo.root / ".reconciler/last-error.log"
    assert f"details in {log}" in result.err
    assert "RuntimeError: boom" in log.read_text()
    assert not (elsewhere / ".reconciler").exists()


@pytest.mark.parametrize(("content", "expected"), [
    pytest.param(b"name: a\nx: b\x00c\n", "configs/hostile.yaml:2:5: control character U+0000",
                 id="nul"),
    pytest.param(b"name: a\nx: \x07\n", "configs/hostile.yaml:2:4: control character U+0007",
                 id="bel"),
    pytest.param(b"name: a\ndescription: caf\xe9\n",
                 "configs/hostile.yaml:2:17: not UTF-8 text: byte 0xe9", id="latin-1"),
    pytest.param(b"name: a\n#" + b"x" * (2 << 20) + b"\n",
                 "configs/hostile.yaml: larger than 1,048,576 bytes", id="huge-comment"),
    pytest.param(b"name: a\nlabels: {" + b", ".join(b"k%d: v" % i for i in range(20_000))
                 + b"}\n", "configs/hostile.yaml:2:", id="big-labels-map"),
    pytest.param(b"name: a\ndescription: " + b"x" * 100_000 + b"\n",
                 "configs/hostile.yaml:2:14: a value of 100,000 characters", id="long-value"),
    pytest.param(b"name: a\nx: " + b"[" * 5000 + b"]" * 5000 + b"\n", "configs/hostile.yaml:2:",
                 id="deep-flow"),
    pytest.param(b"".join(b"  " * level + b"k:\n" for level in range(500)),
                 "configs/hostile.yaml:65:129: nested more than 64 levels deep", id="deep-block"),
    pytest.param(b"name: a\n1: x\n", "configs/hostile.yaml:2:1: key '1' is not a string",
                 id="int-key"),
    pytest.param(b"name: a\ndescription: 2024-13-45\n",
                 "configs/hostile.yaml:2:14: invalid YAML: '2024-13-45' is not a valid timestamp",
                 id="impossible-date"),
])
def test_hostile_job_file_is_one_located_line(repo: Repo, content: bytes, expected: str) -> None:
    (repo.root / "configs/hostile.yaml").write_bytes(content)
    lines = assert_rejected(repo, expected)
    assert len(lines) == 2, lines


def test_a_directory_named_like_a_job_file_is_an_error(repo: Repo) -> None:
    (repo.root / "configs/team.yaml").mkdir()
    assert_rejected(repo, "configs/team.yaml: is a directory, not a file")


def test_hostile_settings_file_is_one_located_line(repo: Repo) -> None:
    (repo.root / "configs/reconciler.yaml").write_bytes(b"region: us-central1\n\x00\n")
    assert_rejected(repo, "configs/reconciler.yaml:2:1: control character U+0000")
