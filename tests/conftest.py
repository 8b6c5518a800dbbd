"""Shared fixtures: real git repositories in temp dirs, the real CLI, the real emulator."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from reconciler.cli import main
from reconciler.connect import emulator_state_dir
from reconciler.core.desired import Dataset, DesiredJob
from reconciler.core.fingerprint import fingerprint
from reconciler.emulator import EmulatorStore, start_emulator
from reconciler.emulator.pipelines import PipelineJobs
from reconciler.kinds.base import Kind

# Speed is measured by benchmarks/run.py, never asserted: no property test fails for taking
# longer than hypothesis' default 200 ms on a loaded machine.
settings.register_profile("tuneops", deadline=None)
settings.load_profile("tuneops")

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
OPEN_MODEL_CONFIG = "configs/bigquery-llama.yaml"
REFERENCE_CONFIGS = ("configs/bigquery-snippets.yaml", "configs/cloud-vision-chat.yaml")


def example_repo(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                  only: tuple[str, ...] | None = None) -> Repo:
    """The examples, with only the job configs in `only` (None: every one)."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copytree(EXAMPLES / "configs", root / "configs")
    shutil.copytree(EXAMPLES / "datasets", root / "datasets")
    for config in (root / "configs").glob("*.yaml"):
        if only is not None and config.name != "reconciler.yaml" and (
                f"configs/{config.name}" not in only):
            config.unlink()
    (root / ".gitignore").write_text(".reconciler/\n")
    git(root, "init", "-q", "-b", "main")
    made = Repo(root, capsys)
    made.commit("initial")
    return made


@pytest.fixture
def repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Repo:
    """The reference's two pipeline jobs (code-bison, codechat-bison)."""
    return example_repo(tmp_path, capsys, REFERENCE_CONFIGS)


@pytest.fixture
def mixed_repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Repo:
    """Every example job: the reference's two pipelines, the Gemini and the open-model
    tuning jobs."""
    return example_repo(tmp_path, capsys)


@pytest.fixture
def gemini(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Repo:
    """Only the Gemini example job (the kind a team can launch today)."""
    return example_repo(tmp_path, capsys, (GEMINI_CONFIG,))


@pytest.fixture
def llama(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Repo:
    """Only the open-model example job."""
    return example_repo(tmp_path, capsys, (OPEN_MODEL_CONFIG,))


@pytest.fixture
def project_repo(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[Repo]:
    """The Gemini example pointed at a GCP project, served by a standalone emulator (on a
    project, code-bison pipelines can no longer be launched)."""
    repo = example_repo(tmp_path, capsys, (GEMINI_CONFIG,))
    repo.edit("configs/reconciler.yaml", "# project: my-gcp-project", "project: my-gcp-project")
    repo.commit("use a project")
    with start_emulator(tmp_path / "vertex", job_seconds=3600) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        repo.service = emulator.store
        yield repo


def racing_applies(repo: Repo, configs: dict[str, str], emulator_dir: Path, processes: int,
                   monkeypatch: pytest.MonkeyPatch, *, seed: int,
                   **faults: float) -> EmulatorStore:
    """Writes `configs`, then runs `processes` applies at once against one standalone
    emulator with `faults` (seeded), then one more apply with none; returns its store."""
    for path, text in configs.items():
        repo.write(path, text)
    with start_emulator(emulator_dir, job_seconds=3600) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        emulator.store.set_faults(seed=seed, **faults)
        command = [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--root",
                   str(repo.root)]
        running = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True) for _ in range(processes)]
        results = [process.communicate(timeout=300) for process in running]
        emulator.store.set_faults()
        # Level-triggered: whatever a faulted run left, one more apply completes.
        final = repo.run("apply", "--auto-approve")
        assert final.code == 0, (final.out, final.err, results)
        return emulator.store


def desired_job(kind: Kind, spec: Any, datasets: tuple[Dataset, ...]) -> DesiredJob:
    """A job of `kind` as loading would build it from `spec` and its `datasets`."""
    inputs = kind.weight_inputs(spec, {d.role: d for d in datasets})
    return DesiredJob(name=spec.name, kind=kind.name, source=f"configs/{spec.name}.yaml:1:1",
                      location=kind.location(spec), inputs=inputs,
                      metadata=kind.metadata(spec), fingerprint=fingerprint(inputs),
                      datasets=datasets, spec=spec)
