"""No command launches, deletes or overwrites by mistake: options before the subcommand, an
empty desired state, convert-dataset's output, misspelt base models, datasets below the
documented minimum, the drift check's failed runs and a read-only status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.emulator.models import Models
from reconciler.emulator.tuning_jobs import TuningJobs
from reconciler.load.datacache import DatasetCache
from tests.conftest import GEMINI_CONFIG, REFERENCE_CONFIGS, Repo
from tests.test_cli_apply import actions, plan_json
from tests.test_workflows import action_step

NAME = "bigquery-gemini"
GEMINI_DATASET = "datasets/bigquery-gemini.jsonl"


def run(repo: Repo, *argv: str) -> tuple[int, str, str]:
    """`reconcile ARGV` exactly as typed (no --root added at the end)."""
    repo.capsys.readouterr()
    code = main(list(argv))
    captured = repo.capsys.readouterr()
    return code, captured.out, captured.err


# -- options before the subcommand ---------------------------------------------------------


def test_dry_run_before_apply_is_refused_and_launches_nothing(repo: Repo) -> None:
    code, _, err = run(repo, "--dry-run", "apply", "--root", str(repo.root))
    assert code == 1
    assert err.count("\n") == 1 and "--dry-run cannot come before apply" in err
    assert repo.job_ids() == []


def test_root_before_the_subcommand_is_the_repository_it_works_on(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = run(repo, "-C", str(repo.root), "plan", "--output", "json")
    assert code == 0, err
    assert {a["name"] for a in json.loads(out)["actions"]} == {"bigquery-snippets",
                                                               "cloud-vision-chat"}
    code, _, err = run(repo, "-C", str(repo.root), "apply")
    assert code == 0, err
    assert len(repo.job_ids()) == 2
    code, _, err = run(repo, "--root", str(repo.root), "emulator", "advance", "3600")
    assert code == 0, err
    assert set(actions(repo).values()) == {"noop"}


@pytest.mark.parametrize(("argv", "message"), [
    (("--auto-approve", "plan"), "--auto-approve does not apply to `reconcile plan`"),
    (("--allow-dirty", "validate"), "--allow-dirty does not apply to `reconcile validate`"),
    (("--dry-run", "init", "x"), "--dry-run does not apply to `reconcile init`"),
    (("-C", ".", "schema"), "--root/-C does not apply to `reconcile schema`"),
])
def test_top_level_options_a_subcommand_does_not_take_are_refused(
        repo: Repo, argv: tuple[str, ...], message: str) -> None:
    code, out, err = run(repo, *argv)
    assert code == 1
    assert err.startswith(f"reconcile: {message}") and err.count("\n") == 1
    assert out == ""


def test_root_given_twice_differently_is_refused(repo: Repo, tmp_path: Path) -> None:
    code, _, err = run(repo, "-C", str(repo.root), "plan", "--root", str(tmp_path))
    assert code == 1
    assert "--root is given twice" in err


def test_auto_approve_before_apply_applies_to_it(project_repo: Repo) -> None:
    code, out, err = run(project_repo, "--auto-approve", "apply", "--root",
                         str(project_repo.root))
    assert code == 0, (out, err)
    assert project_repo.service is not None
    assert len(TuningJobs(project_repo.service).all()) == 1


# -- an empty desired state ----------------------------------------------------------------


def test_prune_of_an_empty_desired_state_is_refused_without_allow_empty(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    for config in REFERENCE_CONFIGS:
        (repo.root / config).unlink()
    validated = repo.run("validate")
    assert validated.code == 0
    assert "0 jobs: no job is desired" in validated.out
    planned = repo.run("plan")
    assert "0 jobs: no job is desired" in planned.out
    models = len(Models(repo.emulator).all())
    result = repo.run("apply", "--prune")
    assert result.code == 1
    assert result.err.startswith("reconcile: refusing to prune: configs/ holds no job")
    assert "--allow-empty" in result.err
    assert len(Models(repo.emulator).all()) == models
    assert repo.run("apply", "--prune", "--allow-empty").code == 0
    assert Models(repo.emulator).all() == []


# -- convert-dataset -----------------------------------------------------------------------


def test_convert_dataset_never_overwrites_its_input(repo: Repo) -> None:
    source = repo.root / "datasets/bigquery.jsonl"
    before = source.read_bytes()
    link = repo.root / "datasets/hard-link.jsonl"
    os.link(source, link)
    symlink = repo.root / "datasets/symlink.jsonl"
    symlink.symlink_to(source)
    for destination in (source, repo.root / "datasets/../datasets/bigquery.jsonl", link,
                        symlink):
        result = repo.run("convert-dataset", str(source), str(destination), "--force")
        assert result.code == 1, destination
        assert "is the input" in result.err and result.err.count("\n") == 1
    assert source.read_bytes() == before


def test_convert_dataset_keeps_an_existing_output_unless_forced(repo: Repo) -> None:
    source = repo.root / "datasets/bigquery.jsonl"
    existing = repo.write("datasets/out.jsonl", "kept\n")
    before = existing.read_bytes()
    result = repo.run("convert-dataset", str(source), str(existing))
    assert result.code == 1
    assert "already exists; pass --force" in result.err
    assert existing.read_bytes() == before
    assert repo.run("convert-dataset", str(source), str(existing), "--force").code == 0
    assert existing.read_bytes() != before


# -- base models, costs and dataset sizes --------------------------------------------------


def test_a_misspelt_base_model_is_an_error_with_a_suggestion(gemini: Repo) -> None:
    gemini.edit(GEMINI_CONFIG, "base_model: gemini-2.5-flash", "base_model: gemini-2.5-flsh")
    result = gemini.run("validate")
    assert result.code == 1
    assert result.err.startswith(f"{GEMINI_CONFIG}:5:1: {NAME}: base_model: gemini-2.5-flsh is "
                                 "not a model tuneops knows; did you mean gemini-2.5-flash?")
    assert gemini.cli().code == 1
    assert TuningJobs(gemini.emulator).all() == []


def test_a_new_base_model_is_a_warning_and_its_cost_is_unknown(gemini: Repo) -> None:
    gemini.edit(GEMINI_CONFIG, "base_model: gemini-2.5-flash", "base_model: gemini-3.0-flash")
    result = gemini.run("plan")
    assert result.code == 0, result.err
    assert "gemini-3.0-flash is not among the models tuneops knows" in result.out
    assert "cost unknown" in result.out
    assert "$0.00" not in result.out
    estimate = plan_json(gemini)[NAME]["estimate"]
    assert estimate["dollars"] is None


def _gemini_examples(count: int) -> str:
    return "".join(json.dumps({"contents": [
        {"role": "user", "parts": [{"text": f"Write query {n} in Python."}]},
        {"role": "model", "parts": [{"text": f"client.query('SELECT {n}')"}]}]}) + "\n"
        for n in range(count))


def test_a_gemini_dataset_below_the_documented_minimum_is_an_error(gemini: Repo) -> None:
    gemini.write(GEMINI_DATASET, _gemini_examples(3))
    result = gemini.run("validate")
    assert result.code == 1
    assert "training dataset has 3 examples, needs 16 to 1,000,000" in result.err
    gemini.write(GEMINI_DATASET, _gemini_examples(16))
    result = gemini.run("validate")
    assert result.code == 0, result.err
    assert "16 examples; at least 100 are recommended" in result.out


def test_a_cached_count_is_checked_against_the_current_minimum(gemini: Repo) -> None:
    path = gemini.write(GEMINI_DATASET, _gemini_examples(3))
    # As a tuneops whose minimum was 1 cached it: a valid dataset of 3 examples.
    cache = DatasetCache(gemini.root / ".reconciler")
    cache.files[DatasetCache.key(path, "gemini", "training")] = {
        "hash": "a" * 40, "examples": 3, "tokens": 30, "warnings": []}
    cache.dirty = True
    cache.save()
    result = gemini.run("validate")
    assert result.code == 1
    assert "training dataset has 3 examples, needs 16" in result.err


# -- the drift check -----------------------------------------------------------------------


def _drift_step(repo: Repo, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    """The action's drift step, its exact script, run with the real `reconcile` on PATH."""
    script = tmp_path / "drift.sh"
    script.write_text(action_step("drift")["run"])
    summary, output, temp = tmp_path / "summary.md", tmp_path / "output", tmp_path / "temp"
    temp.mkdir(exist_ok=True)
    for path in (summary, output):
        path.write_text("")
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin",
           "HOME": str(tmp_path), "NO_COLOR": "1", "ROOT": str(repo.root),
           "RUNNER_TEMP": str(temp), "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_OUTPUT": str(output)}
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                            env=env, capture_output=True, text=True, timeout=300, check=False)
    return result, summary.read_text()


def test_the_drift_workflow_fails_on_a_failed_run(gemini: Repo, tmp_path: Path) -> None:
    gemini.cli()
    gemini.advance()
    result, summary = _drift_step(gemini, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr  # all noop: no drift
    gemini.edit(GEMINI_CONFIG, "labels: {team: data}",
                "labels: {team: data, emulator-outcome: failed}")
    gemini.edit(GEMINI_CONFIG, "epoch_count: 3", "epoch_count: 4")
    gemini.commit("a run that fails")
    gemini.cli()
    gemini.advance()
    assert actions(gemini) == {NAME: "failed"}
    result, summary = _drift_step(gemini, tmp_path)
    assert result.returncode == 1
    assert "Drift detected" in summary
    assert "::error title=Drift detected::" in result.stdout


# -- status --------------------------------------------------------------------------------


def test_status_reads_what_exists_while_a_config_is_invalid(gemini: Repo) -> None:
    gemini.cli()
    gemini.edit(GEMINI_CONFIG, "epoch_count: 3", "epoch_count: three")
    assert gemini.run("validate").code == 1
    result = gemini.run("status", "--output", "json")
    assert result.code == 0, result.err
    assert result.err.count("\n") == 1 and "the configs have 1 error" in result.err
    assert [job["name"] for job in json.loads(result.out)["jobs"]] == [NAME]
    assert len(TuningJobs(gemini.emulator).all()) == 1  # read-only
