"""Shared fixtures: real git repositories in temp dirs, the real CLI, the real emulator."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.connect import emulator_state_dir
from reconciler.emulator import EmulatorStore, start_emulator
from reconciler.emulator.pipelines import PipelineJobs

EXAMPLES = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may read the user's home or a developer's emulator settings."""
    # Under /dev/null nothing can be read or created, even as root: touching home fails loudly.
    monkeypatch.setenv("HOME", "/dev/null/home")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("TUNEOPS_API_ENDPOINT", "TUNEOPS_STORAGE_ENDPOINT",
                 "TUNEOPS_EMULATOR_JOB_SECONDS", "GOOGLE_APPLICATION_CREDENTIALS",
                 "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)


def git(root: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root, check=True, capture_output=True, text=True)
    return result.stdout.strip()


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Repo:
    """A repository holding the example configs, with the CLI and emulator at hand."""

    root: Path
    capsys: pytest.CaptureFixture[str]
    # The standalone emulator a project repository talks to (None: the embedded one).
    service: EmulatorStore | None = None

    def run(self, *args: str) -> Result:
        self.capsys.readouterr()
        # Commands about a repository take --root; the emulator's and conversion do not.
        code = main([*args, "--root", str(self.root)]
                    if args and args[0] not in ("emulator", "convert-dataset", "show") else [*args])
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def cli(self, *args: str) -> Result:
        """Runs the top-level command (no subcommand) with options."""
        self.capsys.readouterr()
        code = main(["--root", str(self.root), *args])
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    @property
    def emulator(self) -> EmulatorStore:
        return EmulatorStore(emulator_state_dir(self.root))

    def advance(self, seconds: float = 3600) -> None:
        self.emulator.advance_clock(seconds)

    def job_ids(self) -> list[str]:
        return sorted(job.name.rsplit("/", 1)[-1] for job in PipelineJobs(self.emulator).all())

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    def commit(self, message: str = "change") -> str:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.root, "rev-parse", "HEAD")


GEMINI_CONFIG = "configs/bigquery-gemini.yaml"
REFERENCE_CONFIGS = ("configs/bigquery-snippets.yaml", "configs/cloud-vision-chat.yaml")


def _example_repo(tmp_path: Path, capsys: pytest.CaptureFixture[str], *, gemini: bool) -> Repo:
    root = tmp_path / "repo"
    root.mkdir()
    skip = () if gemini else ("*gemini*",)
    shutil.copytree(EXAMPLES / "configs", root / "configs", ignore=shutil.ignore_patterns(*skip))
    shutil.copytree(EXAMPLES / "datasets", root / "datasets")
    (root / ".gitignore").write_text(".reconciler/\n")
    git(root, "init", "-q", "-b", "main")
    made = Repo(root, capsys)
    made.commit("initial")
    return made


@pytest.fixture
def repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Repo:
    """The reference's two pipeline jobs (code-bison, codechat-bison)."""
    return _example_repo(tmp_path, capsys, gemini=False)


@pytest.fixture
def mixed_repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Repo:
    """Every example job: the reference's two pipelines and the Gemini tuning job."""
    return _example_repo(tmp_path, capsys, gemini=True)


@pytest.fixture
def gemini(mixed_repo: Repo) -> Repo:
    """Only the Gemini example job (the kind a team can launch today)."""
    for config in REFERENCE_CONFIGS:
        (mixed_repo.root / config).unlink()
    mixed_repo.commit("gemini only")
    return mixed_repo


@pytest.fixture
def project_repo(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[Repo]:
    """The Gemini example pointed at a GCP project, served by a standalone emulator (on a
    project, code-bison pipelines can no longer be launched)."""
    repo = _example_repo(tmp_path, capsys, gemini=True)
    for config in REFERENCE_CONFIGS:
        (repo.root / config).unlink()
    repo.edit("configs/reconciler.yaml", "# project: my-gcp-project", "project: my-gcp-project")
    repo.commit("use a project")
    with start_emulator(tmp_path / "vertex", job_seconds=3600) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        repo.service = emulator.store
        yield repo
