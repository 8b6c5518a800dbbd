"""A run's identity is (project, location, kind, name, fingerprint, attempt): renames, copies,
reverts and projects sharing a staging bucket, through the real CLI and GAPIC clients
against the emulator."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.cloud.aiplatform_v1.types import JobState

from reconciler.emulator import EmulatorStore, start_emulator
from reconciler.emulator.models import Models
from reconciler.emulator.names import project_number
from reconciler.emulator.open_models import OpenModelTuningJobs
from reconciler.emulator.pipelines import PipelineJobs
from reconciler.emulator.tuning_jobs import TuningJobs
from tests.conftest import EXAMPLES, GEMINI_CONFIG, OPEN_MODEL_CONFIG, Repo, git
from tests.test_cli_apply import actions, plan_json

GEMINI = "bigquery-gemini"
SNIPPETS = "configs/bigquery-snippets.yaml"


def runs_of(store: EmulatorStore) -> dict[str, list[str]]:
    """Tuning job names by the name label they were launched with."""
    found: dict[str, list[str]] = {}
    for job in TuningJobs(store).all():
        found.setdefault(job.labels["tuneops-name"], []).append(job.name)
    return found


@pytest.mark.parametrize(("fixture", "config", "old", "jobs"), [
    ("gemini", GEMINI_CONFIG, GEMINI, lambda repo: TuningJobs(repo.emulator).all()),
    ("repo", SNIPPETS, "bigquery-snippets", lambda repo: PipelineJobs(repo.emulator).all()),
    ("llama", OPEN_MODEL_CONFIG, "bigquery-llama",
     lambda repo: OpenModelTuningJobs(repo.emulator).all()),
], ids=["tuning-job", "pipeline", "open-model"])
def test_a_rename_moves_the_run_without_tuning(fixture: str, config: str, old: str, jobs: object,
                                               request: pytest.FixtureRequest) -> None:
    repo: Repo = request.getfixturevalue(fixture)
    assert repo.cli().code == 0
    repo.advance()
    assert actions(repo)[old] == "noop"
    launched = len(jobs(repo))  # type: ignore[operator]
    repo.edit(config, f"name: {old}", "name: sql-assistant")
    repo.commit("rename")
    planned = plan_json(repo)
    assert old not in planned  # no orphan for the old name
    rename = planned["sql-assistant"]
    assert rename["action"] == "rename"
    assert rename["renamed_from"] == old
    assert rename["reason"] == f"renamed from {old}, no re-tune"
    assert repo.run("plan", "--detailed-exitcode").code == 2  # a rename is a change
    text = repo.run("plan").out
    assert f"rename   sql-assistant  renamed from {old}, no re-tune" in text
    assert "1 to rename" in text
    assert f"renamed from {old}" in repo.run("plan", "--output", "markdown").out

    applied = repo.run("apply", "--auto-approve")
    assert applied.code == 0, applied.out
    assert "renamed" in applied.out
    assert len(jobs(repo)) == launched  # type: ignore[operator]  # nothing tuned

    after = actions(repo)
    assert after["sql-assistant"] == "noop" and old not in after
    assert set(after.values()) == {"noop"}
    assert repo.run("plan", "--detailed-exitcode").code == 0
    status = json.loads(repo.run("status", "--output", "json").out)
    assert "sql-assistant" in {job["name"] for job in status["jobs"]}
    assert old not in {job["name"] for job in status["jobs"]}
    # The Model follows where UpdateModel allows: its name label is the new name.
    assert {model["name"] for model in status["models"]} >= {"sql-assistant"}
    assert old not in {model["name"] for model in status["models"]}


def test_a_rename_survives_prune_and_can_be_renamed_back(gemini: Repo) -> None:
    gemini.cli()
    gemini.advance()
    gemini.edit(GEMINI_CONFIG, f"name: {GEMINI}", "name: sql-assistant")
    gemini.commit("rename")
    assert gemini.run("apply", "--prune").code == 0
    # The Model was moved, never pruned.
    assert [m for m in Models(gemini.emulator).all() if m.labels.get("tuneops-fingerprint")]
    gemini.edit(GEMINI_CONFIG, "name: sql-assistant", f"name: {GEMINI}")
    gemini.commit("rename back")
    assert actions(gemini) == {GEMINI: "rename"}
    assert gemini.run("apply", "--prune").code == 0
    assert actions(gemini) == {GEMINI: "noop"}
    assert len(TuningJobs(gemini.emulator).all()) == 1


def test_copies_each_launch_their_own_run(gemini: Repo) -> None:
    gemini.cli()
    gemini.advance()
    text = (gemini.root / GEMINI_CONFIG).read_text()
    for index in range(3):
        gemini.write(f"configs/copy-{index}.yaml",
                     text.replace(f"name: {GEMINI}", f"name: copy-{index}"))
    gemini.commit("copies")
    planned = plan_json(gemini)
    assert {name: a["action"] for name, a in planned.items()} == {
        GEMINI: "noop", "copy-0": "create", "copy-1": "create", "copy-2": "create"}
    assert "a copy of bigquery-gemini" in planned["copy-0"]["reason"]
    result = gemini.run("apply")
    assert result.code == 0, result.out
    assert "Apply: 3 done, 0 failed." in result.out
    assert sorted(runs_of(gemini.emulator)) == ["bigquery-gemini", "copy-0", "copy-1", "copy-2"]
    assert set(actions(gemini).values()) == {"noop", "running"}


def test_a_copy_under_a_renamed_away_name_takes_a_new_attempt(gemini: Repo) -> None:
    """b renamed from a keeps a's labels; a copy named a again must not be taken for it."""
    gemini.cli()
    gemini.advance()
    text = (gemini.root / GEMINI_CONFIG).read_text()
    gemini.edit(GEMINI_CONFIG, f"name: {GEMINI}", "name: renamed")
    gemini.commit("rename")
    assert gemini.run("apply").code == 0
    gemini.write("configs/again.yaml", text)
    gemini.commit("the old name again, as a copy")
    planned = plan_json(gemini)
    assert planned["renamed"]["action"] == "noop"
    assert planned[GEMINI]["action"] == "create"
    assert planned[GEMINI]["launch"]["labels"]["tuneops-attempt"] == "2"
    assert gemini.run("apply").code == 0
    assert len(runs_of(gemini.emulator)[GEMINI]) == 2  # both labelled with the old name
    assert actions(gemini) == {"renamed": "noop", GEMINI: "running"}


def test_two_renames_to_one_orphan_are_no_rename(gemini: Repo) -> None:
    gemini.cli()
    gemini.advance()
    text = (gemini.root / GEMINI_CONFIG).read_text()
    (gemini.root / GEMINI_CONFIG).unlink()
    for name in ("first", "second"):
        gemini.write(f"configs/{name}.yaml", text.replace(f"name: {GEMINI}", f"name: {name}"))
    gemini.commit("two new names")
    assert actions(gemini) == {"first": "create", "second": "create", GEMINI: "orphan"}


def test_a_tampered_rename_in_a_plan_file_is_refused(gemini: Repo, tmp_path: Path) -> None:
    gemini.cli()
    gemini.advance()
    gemini.edit(GEMINI_CONFIG, f"name: {GEMINI}", "name: sql-assistant")
    gemini.commit("rename")
    saved = tmp_path / "plan.json"
    assert gemini.run("plan", "--out", str(saved)).code == 0
    data = json.loads(saved.read_text())
    (rename,) = [a for a in data["actions"] if a["action"] == "rename"]
    rename["runs"] = []
    saved.write_text(json.dumps(data))
    result = gemini.run("apply", str(saved))
    assert result.code == 1
    assert "the plan file differs" in result.err
    assert actions(gemini) == {"sql-assistant": "rename"}


def _project_repo(root: Path, project: str, capsys: pytest.CaptureFixture[str]) -> Repo:
    root.mkdir()
    shutil.copytree(EXAMPLES / "configs", root / "configs",
                    ignore=shutil.ignore_patterns("bigquery-snippets.yaml",
                                                  "cloud-vision-chat.yaml",
                                                  "bigquery-llama.yaml"))
    shutil.copytree(EXAMPLES / "datasets", root / "datasets")
    (root / ".gitignore").write_text(".reconciler/\n")
    settings = root / "configs/reconciler.yaml"
    settings.write_text(settings.read_text().replace("# project: my-gcp-project",
                                                     f"project: {project}"))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return Repo(root, capsys)


@pytest.fixture
def two_projects(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Repo, Repo, EmulatorStore]]:
    """team-staging and team-prod: the same jobs and the same staging_bucket, on one
    standalone emulator."""
    with start_emulator(tmp_path / "vertex", job_seconds=3600) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        staging, prod = (_project_repo(tmp_path / project, project, capsys)
                         for project in ("team-staging", "team-prod"))
        yield staging, prod, emulator.store


def test_projects_sharing_a_staging_bucket_each_launch_their_own_job(
        two_projects: tuple[Repo, Repo, EmulatorStore]) -> None:
    staging, prod, store = two_projects
    assert staging.run("apply", "--auto-approve").code == 0
    result = prod.run("apply", "--auto-approve")
    assert result.code == 0, result.out
    assert "launched" in result.out and "adopted" not in result.out
    # The service names each job by its project's number.
    parents = sorted(job.name.split("/")[1] for job in TuningJobs(store).all())
    assert parents == sorted(project_number(p) for p in ("team-prod", "team-staging"))
    assert actions(staging) == {GEMINI: "running"}
    assert actions(prod) == {GEMINI: "running"}
    store.advance_clock(3600)
    assert actions(prod) == {GEMINI: "noop"}
    assert prod.run("apply", "--auto-approve").code == 0
    assert len(TuningJobs(store).all()) == 2


def _epochs(repo: Repo, count: int) -> None:
    path = repo.root / GEMINI_CONFIG
    text = path.read_text()
    start = text.index("epoch_count: ")
    end = text.index("\n", start)
    path.write_text(f"{text[:start]}epoch_count: {count}{text[end:]}")
    repo.commit(f"epoch_count {count}")


def test_reverting_while_a_run_goes_cancels_it_even_when_noop(gemini: Repo) -> None:
    gemini.cli()
    gemini.advance()
    (tuned,) = TuningJobs(gemini.emulator).all()
    _epochs(gemini, 9)
    assert gemini.cli().code == 0
    running = next(job.name for job in TuningJobs(gemini.emulator).all() if job.name != tuned.name)
    _epochs(gemini, 3)  # back to the run that succeeded
    planned = plan_json(gemini)[GEMINI]
    assert planned["action"] == "noop"
    assert planned["cancel"] == [running]
    assert gemini.run("plan", "--detailed-exitcode").code == 2
    text = gemini.run("plan").out
    assert f"cancels {running.rsplit('/', 1)[-1]} (superseded)" in text
    assert "1 run to cancel" in text
    result = gemini.cli()
    assert result.code == 0, result.out
    states = {job.name: job.state for job in TuningJobs(gemini.emulator).all()}
    assert states[running] in (JobState.JOB_STATE_CANCELLING, JobState.JOB_STATE_CANCELLED)
    assert plan_json(gemini)[GEMINI]["cancel"] == []
    assert gemini.run("plan", "--detailed-exitcode").code == 0


def test_a_run_tuneops_cancelled_as_superseded_relaunches_without_a_flag(gemini: Repo) -> None:
    for epochs in (8, 9, 10):
        _epochs(gemini, epochs)
        assert gemini.cli().code == 0
    gemini.advance()  # 8 and 9 were cancelled as superseded, 10 succeeded
    _epochs(gemini, 8)
    planned = plan_json(gemini)[GEMINI]
    assert planned["action"] == "retune"
    assert "tuneops cancelled" in planned["reason"] and "superseded" in planned["reason"]
    assert planned["launch"]["labels"]["tuneops-attempt"] == "2"
    assert gemini.cli().code == 0
    assert len(TuningJobs(gemini.emulator).all()) == 4
    assert actions(gemini) == {GEMINI: "running"}


def test_a_run_someone_else_cancelled_still_needs_retry_failed(gemini: Repo) -> None:
    gemini.cli()
    (job,) = TuningJobs(gemini.emulator).all()
    TuningJobs(gemini.emulator).cancel(job.name)  # from the console, say
    gemini.advance()
    planned = plan_json(gemini)[GEMINI]
    assert planned["action"] == "failed"
    assert "--retry-failed" in planned["reason"]
