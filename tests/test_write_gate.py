"""The write gate: a symlink at each path tuneops writes, and nothing lands outside.

Each case commits (or leaves) a symbolic link where tuneops writes (.reconciler, its cache,
the emulator's state, the error log, `init`'s files, `convert-dataset`'s and `plan --out`'s
outputs) and runs the command that writes there: the command refuses in one line, or writes
inside the repository, and the place outside the repository stays exactly as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import main
from reconciler.commands import status
from reconciler.load.writes import WriteRefused, atomic, repository_target, user_target
from tests.conftest import Repo
from tests.test_cli_init import PIN

TRAINING = "datasets/bigquery.jsonl"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory outside the repository, holding one file a link may point at."""
    place = tmp_path / "outside"
    place.mkdir()
    (place / "precious").write_text("untouched\n")
    return place


def untouched(place: Path) -> bool:
    return (sorted(p.name for p in place.iterdir()) == ["precious"]
            and (place / "precious").read_text() == "untouched\n")


def link(repo: Repo, relative: str, target: Path) -> None:
    path = repo.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


@pytest.mark.parametrize(("relative", "pointing_at"), [
    (".reconciler", ""),
    (".reconciler/emulator", ""),
    (".reconciler/emulator/emulator.sqlite", "precious"),
    (".reconciler/emulator/storage", ""),
])
def test_the_emulator_state_never_follows_a_link(repo: Repo, outside: Path, relative: str,
                                                 pointing_at: str) -> None:
    link(repo, relative, outside / pointing_at)
    for command in (("plan",), ("apply", "--auto-approve"), ("emulator", "advance", "5")):
        result = repo.run(*command, *(("--root", str(repo.root)) if command[0] == "emulator"
                                      else ()))
        assert result.code == 1, (command, result.err)
        assert result.err.count("\n") == 1, result.err
        assert "is a symbolic link; tuneops keeps its own state there" in result.err
    assert untouched(outside)


@pytest.mark.parametrize("relative", [".reconciler", ".reconciler/dataset-cache.json"])
def test_the_dataset_cache_is_never_written_through_a_link(repo: Repo, outside: Path,
                                                           relative: str) -> None:
    link(repo, relative, outside / ("precious" if relative.endswith(".json") else ""))
    result = repo.run("validate")
    assert result.code == 0, result.err  # the cache only costs speed: validate goes on
    assert untouched(outside)


def test_the_error_log_is_never_written_through_a_link(
        repo: Repo, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**_: Any) -> int:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(status, "status_command", broken)
    link(repo, ".reconciler/last-error.log", outside / "precious")
    result = repo.run("status")
    assert result.code == 3
    assert result.err == "reconcile: unexpected error: RuntimeError('boom\\nsecond line')\n"
    assert untouched(outside)


@pytest.mark.parametrize("dangling", [True, False])
def test_init_never_writes_through_a_link_out(tmp_path: Path, outside: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              dangling: bool) -> None:
    root = tmp_path / "new"
    (root / "configs").mkdir(parents=True)
    target = outside / ("missing.yaml" if dangling else "precious")
    (root / "configs/reconciler.yaml").symlink_to(target)
    for force in ((), ("--force",)):
        capsys.readouterr()
        assert main(["init", str(root), *PIN, *force]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert "nothing was written" in err
        # Refused for the link, by the write gate (not for want of the action's pin).
        assert "already exist" in err if not force else "link" in err, err
    assert untouched(outside)
    assert not (root / "configs/gemini-example.yaml").exists()  # all or nothing


def test_init_follows_a_link_that_stays_inside(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "new"
    (root / "shared").mkdir(parents=True)
    (root / "configs").symlink_to(root / "shared")
    assert main(["init", str(root), *PIN]) == 0, capsys.readouterr().err
    assert (root / "shared/reconciler.yaml").is_file()


def convert(repo: Repo, destination: str) -> tuple[int, str]:
    repo.capsys.readouterr()
    code = main(["convert-dataset", str(repo.root / TRAINING), destination,
                 "--root", str(repo.root)])
    return code, repo.capsys.readouterr().err


def test_convert_dataset_never_writes_through_a_committed_link(
        repo: Repo, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo.root)
    link(repo, "converted", outside)
    for destination in ("converted/gemini.jsonl", str(repo.root / "converted/gemini.jsonl")):
        code, err = convert(repo, destination)
        assert code == 1
        assert "leads outside the repository" in err and err.count("\n") == 1, err
    assert untouched(outside)


def test_convert_dataset_writes_a_path_outside_the_repository_where_it_says(
        repo: Repo, outside: Path) -> None:
    code, err = convert(repo, str(outside / "gemini.jsonl"))
    assert code == 0, err
    assert (outside / "gemini.jsonl").read_text().count("\n") == (
        repo.root / TRAINING).read_text().count("\n")


def test_plan_out_never_writes_through_a_committed_link(repo: Repo, outside: Path) -> None:
    link(repo, "plans", outside)
    result = repo.run("plan", "--out", str(repo.root / "plans/plan.json"))
    assert result.code == 1
    assert "plans/plan.json leads outside the repository" in result.err
    assert untouched(outside)
    written = repo.run("plan", "--out", str(outside / "plan.json"))
    assert written.code == 0, written.err
    assert (outside / "plan.json").read_text().startswith("{")


def test_a_write_is_whole_or_nothing(tmp_path: Path) -> None:
    target = repository_target(tmp_path, "out.txt")
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic(target) as stream:
        stream.write(b"half")
        raise RuntimeError("stopped")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


@pytest.mark.parametrize("name", ["a\0b", "../escape.txt", "in/../../escape.txt"])
def test_paths_that_leave_the_repository_are_refused(tmp_path: Path, name: str) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    with pytest.raises(WriteRefused):
        repository_target(root, name)


def test_a_nul_byte_in_a_user_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WriteRefused, match="NUL byte"):
        user_target(tmp_path, Path("a\0b.json"))
