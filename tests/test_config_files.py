"""Every file under configs/ is read as jobs, read as settings, or reported: none is dropped
in silence, because the jobs of a dropped file become orphans that `--prune` deletes."""

from __future__ import annotations

import json
import shutil

from reconciler.emulator.models import Models
from tests.conftest import Repo
from tests.test_cli_apply import actions

SNIPPETS = "configs/bigquery-snippets.yaml"


def test_a_linked_directory_inside_the_repository_is_read(repo: Repo) -> None:
    assert repo.cli().code == 0
    repo.advance()
    (repo.root / "shared/team").mkdir(parents=True)
    shutil.move(repo.root / SNIPPETS, repo.root / "shared/team/bigquery-snippets.yaml")
    (repo.root / "configs/team").symlink_to("../shared/team")
    validated = repo.run("validate")
    assert validated.code == 0, validated.err
    assert "2 jobs valid." in validated.out
    assert actions(repo) == {"bigquery-snippets": "noop",
                                               "cloud-vision-chat": "noop"}
    pruned = repo.run("apply", "--auto-approve", "--prune")
    assert pruned.code == 0, pruned.err
    assert len(Models(repo.emulator).all()) == 2  # nothing became an orphan, nothing was deleted


def test_a_directory_reached_twice_is_read_once_and_said(repo: Repo) -> None:
    (repo.root / "configs/again").symlink_to(".")
    result = repo.run("validate")
    assert result.code == 0, result.err
    assert "2 jobs valid." in result.out
    assert "configs/again: links to configs, which is read already" in result.out


def test_a_reconciler_yaml_in_a_subdirectory_holds_jobs(repo: Repo) -> None:
    (repo.root / "configs/team").mkdir()
    shutil.move(repo.root / SNIPPETS, repo.root / "configs/team/reconciler.yaml")
    result = repo.run("validate")
    assert result.code == 0, result.err
    assert "2 jobs valid." in result.out
    assert "bigquery-snippets" in actions(repo)


def test_a_second_settings_document_is_an_error_at_its_line(repo: Repo) -> None:
    settings = repo.root / "configs/reconciler.yaml"
    lines = settings.read_text().count("\n")
    settings.write_text(settings.read_text() + "---\nproject: another-project\n")
    result = repo.run("validate")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        f"configs/reconciler.yaml:{lines + 2}:1: settings are one YAML document; this second "
        "one would be ignored: put jobs in a file of their own")


def test_the_plan_lists_the_files_it_read(repo: Repo) -> None:
    (repo.root / "configs/README.md").write_text("notes\n")
    result = repo.run("plan", "--output", "json")
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert plan["files"] == [
        "configs/reconciler.yaml", "configs/bigquery-snippets.yaml",
        "configs/cloud-vision-chat.yaml", "datasets/bigquery-eval.jsonl",
        "datasets/bigquery.jsonl", "datasets/vision-chat.jsonl"]
    assert {"path": "configs/README.md", "line": 0, "column": 0} in [
        warning["location"] for warning in plan["warnings"]]


def test_a_file_name_with_a_newline_stays_on_the_one_line_of_its_error(repo: Repo) -> None:
    (repo.root / "configs/bad\n::error::forged.yaml").write_text("name: [\n")
    result = repo.run("validate")
    assert result.code == 1
    lines = result.err.splitlines()
    assert lines[0].startswith("configs/bad\\n::error::forged.yaml:")
    assert len(lines) == 2, lines
