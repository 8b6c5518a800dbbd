"""Git-aware planning and CI outputs, in real repositories (branches, a shallow clone)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.output.markdown import BODY_BYTES, render
from reconciler.plan.actions import Change, ModelPatch, Noop, Update
from reconciler.plan.planner import Plan
from tests.conftest import GEMINI_CONFIG, Repo, git
from tests.test_cli_apply import BIGQUERY, VISION


def make_feature_branch(repo: Repo) -> None:
    git(repo.root, "checkout", "-q", "-b", "feature")
    repo.edit(BIGQUERY, "train_steps: 300", "train_steps: 500")
    repo.edit(VISION, "labels: {team: vision}", "labels: {team: ml}")
    repo.write("configs/new-job.yaml", "name: new-job\ntask: code-chat\n"
               "dataset_uri: datasets/vision-chat.jsonl\n")
    repo.commit("feature")


def test_base_reports_exactly_the_jobs_the_branch_changed(repo: Repo) -> None:
    make_feature_branch(repo)
    result = repo.run("plan", "--base", "main", "--output", "json")
    assert result.code == 0, result.err
    branch = json.loads(result.out)["branch"]
    assert branch["base"] == "main"
    assert [(c["name"], c["change"]) for c in branch["changes"]] == [
        ("bigquery-snippets", "retune"), ("cloud-vision-chat", "update"), ("new-job", "added")]
    text = repo.run("plan", "--base", "main").out
    assert ("this branch changes 3 jobs relative to main: 1 added, 1 re-tune, 1 update"
            in text)


def test_base_in_text_lists_each_changed_job_and_field(repo: Repo) -> None:
    make_feature_branch(repo)
    lines = repo.run("plan", "--base", "main").out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("this branch changes"))
    assert lines[start + 1:start + 6] == [
        "  bigquery-snippets: re-tune",
        "      ~ train_steps: 300 -> 500  (forces re-tune)",
        "  cloud-vision-chat: update",
        "      ~ labels.team: vision -> ml",
        "  new-job: added",
    ]


def test_base_sees_removed_jobs_and_uncommitted_edits(repo: Repo) -> None:
    (repo.root / VISION).unlink()
    repo.edit(BIGQUERY, "labels: {team: data}", "labels: {team: ml}")
    branch = json.loads(repo.run("plan", "--base", "HEAD", "--output", "json").out)["branch"]
    assert [(c["name"], c["change"]) for c in branch["changes"]] == [
        ("bigquery-snippets", "update"), ("cloud-vision-chat", "removed")]


def test_base_in_a_shallow_clone_fetches_the_base_branch(repo: Repo, tmp_path: Path) -> None:
    make_feature_branch(repo)
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.root), str(origin))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth=1", "--branch", "feature", f"file://{origin}",
        str(clone))
    assert "origin/main" not in git(clone, "branch", "-r")
    shallow = Repo(clone, repo.capsys)
    result = shallow.run("plan", "--base", "origin/main", "--output", "json")
    assert result.code == 0, result.err
    changes = json.loads(result.out)["branch"]["changes"]
    assert [c["name"] for c in changes] == ["bigquery-snippets", "cloud-vision-chat", "new-job"]


def test_an_unknown_base_says_what_to_fetch(repo: Repo) -> None:
    result = repo.run("plan", "--base", "origin/nope")
    assert result.code == 1
    assert result.err.strip() == (
        "reconcile: cannot resolve base ref 'origin/nope': fetch it first (`git fetch origin "
        "nope`, or `fetch-depth: 0` in actions/checkout)")


def test_apply_refuses_a_dirty_tree_and_names_the_files(project_repo: Repo) -> None:
    project_repo.edit(GEMINI_CONFIG, "epoch_count: 3", "epoch_count: 4")
    dataset = "datasets/bigquery-gemini.jsonl"
    project_repo.write(dataset, (project_repo.root / dataset).read_text() + "\n")
    project_repo.write("configs/untracked.yaml", "kind: tuning-job\nname: untracked\n"
                       "base_model: gemini-2.5-flash\n"
                       "training_dataset_uri: datasets/bigquery-gemini.jsonl\n")
    result = project_repo.run("apply", "--auto-approve")
    assert result.code == 1
    assert result.err.strip() == (
        "reconcile: uncommitted changes in configs/bigquery-gemini.yaml, "
        "configs/untracked.yaml, datasets/bigquery-gemini.jsonl; commit them (launched jobs "
        "are labelled with the commit) or pass --allow-dirty")
    assert project_repo.run("apply", "--auto-approve", "--allow-dirty").code == 0


def test_apply_ignores_changes_outside_configs_and_datasets(project_repo: Repo) -> None:
    project_repo.write("notes.txt", "unrelated\n")
    result = project_repo.run("apply", "--auto-approve")
    assert result.code == 0, result.err


def test_markdown_plan_has_table_details_and_apply_hint(repo: Repo) -> None:
    repo.cli()
    repo.advance()
    repo.edit(BIGQUERY, "train_steps: 300", "train_steps: 500")
    text = repo.run("plan", "--output", "markdown").out
    assert text.startswith("### tuneops: Plan: 0 to create, 1 to re-tune, 0 to update, "
                           "1 unchanged.")
    assert "| 🟡 | `bigquery-snippets` | retune | `changed: train_steps` |" in text
    assert "<details><summary><code>bigquery-snippets</code>: retune</summary>" in text
    assert "| `train_steps` | `300` | `500` | **yes** |" in text
    assert "reconcile apply --auto-approve" in text


def _big_plan(jobs: int) -> Plan:
    actions = tuple(
        Update(name=f"job-{index:04d}", reason="Model metadata differs: labels",
               job_id=f"job-{index:04d}-0123456789ab",
               patch=ModelPatch(model="m", display_name="d", description="", labels={}),
               changes=tuple(Change(f"labels.key{k}", "x" * 40, "y" * 40, False)
                             for k in range(5)))
        for index in range(jobs))
    return Plan(actions=actions, warnings=(), desired_digest="d", observed_digest="o")


def test_markdown_for_2000_jobs_fits_a_github_comment_in_bytes() -> None:
    text = render(_big_plan(2000))
    assert len(text.encode()) <= BODY_BYTES
    assert "| 🔵 | `job-0000` | update |" in text
    assert "more jobs not listed to fit GitHub's comment limit" in text
    assert "<details><summary><code>job-0000</code>: update</summary>" in text
    assert "more jobs are left out to fit GitHub's comment limit" in text
    # Cut in whole blocks: every <details> is closed, and the footer is there.
    assert text.count("<details>") == text.count("</details>")
    assert text.rstrip().endswith("`reconcile plan` shows it locally.")


def test_markdown_lists_changing_jobs_before_unchanged_ones() -> None:
    big = _big_plan(3)
    noop = Noop(name="aaa", reason="up to date", job_id="aaa-1", model="m")
    text = render(Plan(actions=(noop, *big.actions), warnings=(), desired_digest="d",
                       observed_digest="o"))
    assert text.index("`job-0000`") < text.index("`aaa`")


def test_validate_github_output_annotates_errors_at_file_and_line(repo: Repo) -> None:
    repo.edit(BIGQUERY, "train_steps: 300", "trian_steps: 300")
    result = repo.run("validate", "--output", "github")
    assert result.code == 1
    assert ("::error file=configs/bigquery-snippets.yaml,line=8,col=1,title=tuneops error::"
            "bigquery-snippets: unknown key 'trian_steps'; did you mean 'train_steps'?"
            in result.out.splitlines())


def test_validate_github_output_annotates_warnings(repo: Repo) -> None:
    result = repo.run("validate", "--output", "github")
    assert result.code == 0
    assert any(line.startswith("::warning file=datasets/bigquery.jsonl,line=2,col=1,")
               and "1 of 24 inputs have no instruction" in line
               for line in result.out.splitlines())


def test_plan_writes_the_step_summary(repo: Repo, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    repo.run("plan")
    assert summary.read_text().startswith("### tuneops: Plan: 2 to create")


@pytest.mark.parametrize("ref", ["HEAD~99", "0123456789abcdef0123456789abcdef01234567",
                                 "v9.9.9"])
def test_a_base_that_is_no_remote_branch_suggests_no_fetch(repo: Repo, ref: str) -> None:
    result = repo.run("plan", "--base", ref)
    assert result.code == 1
    assert result.err.strip() == (
        f"reconcile: cannot resolve base ref '{ref}': no such commit, branch or tag here (in "
        "a shallow clone, `fetch-depth: 0` in actions/checkout fetches the history)")
