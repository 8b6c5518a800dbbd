"""The package as a newcomer gets it: cloned with git, installed into a fresh virtualenv with
the locked dependencies (as the action installs it), then `reconcile init` for a repository
on GitHub; and built into a wheel and an sdist that carry everything."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.commands.init import FILES, examples
from tests import test_workflows as workflows

ROOT = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
# The environment as pytest started (tests/conftest.py points HOME at /dev/null for each
# test): pip needs the real one for its cache and its configured index.
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
SHIPPED = ("reconciler/schema/job.schema.json",
           *(f"reconciler/templates/init/{template}" for _, template in dict.fromkeys(
               [*FILES, *(pair for pairs in examples().values() for pair in pairs)])),
           "reconciler/templates/init/github-setup.md")
# The session fixture of tests/test_workflows.py: actionlint installed once, shared.
actionlint = workflows.actionlint


def run(*command: str | Path, cwd: Path, timeout: float = 600) -> str:
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=ENV,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=timeout, check=False)
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def git(cwd: Path, *args: str) -> str:
    return run("git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args, cwd=cwd)


def clone(tmp_path: Path) -> tuple[Path, str]:
    """This work tree as a repository of its own (its tracked and new files, as they are
    now), cloned as a newcomer clones it; and the commit it is at."""
    source = tmp_path / "source"
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    git(source, "init", "-q", "-b", "main")
    git(source, "add", "-A")
    git(source, "commit", "-q", "-m", "tuneops")
    cloned = tmp_path / "tuneops"
    git(tmp_path, "clone", "-q", str(source), str(cloned))
    return cloned, git(cloned, "rev-parse", "HEAD").strip()


def pins(text: str) -> dict[str, str]:
    """name -> version of `name==version` lines, names normalised as pip compares them."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==(\S+)$", line.strip())
        if match:
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


def check_distributions(cloned: Path, out: Path) -> None:
    """`python -m build`: the sdist, then the wheel built from it (so the sdist is complete)."""
    out.mkdir()
    run(sys.executable, "-m", "build", "--outdir", out, cloned, cwd=out)
    [wheel] = out.glob(f"tuneops-{VERSION}-py3-none-any.whl")
    [sdist] = out.glob(f"tuneops-{VERSION}.tar.gz")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(SHIPPED) <= names, set(SHIPPED) - names
    with tarfile.open(sdist) as archive:
        members = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert set(SHIPPED) <= members, set(SHIPPED) - members


# One test, not several sharing a fixture: one clone and one install, the slow parts.
def test_a_newcomer_installs_from_git_and_scaffolds_a_repository_that_github_runs(
        tmp_path: Path, actionlint: Callable[[list[Path]], list[dict[str, Any]]]) -> None:
    cloned, commit = clone(tmp_path)
    check_distributions(cloned, tmp_path / "dist")

    venv = tmp_path / "venv"
    # A virtualenv of its own, no system site-packages: dependencies come from the index,
    # at the versions constraints.txt locks, as the action installs them.
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin/python"
    run(python, "-m", "pip", "install", "--quiet", "--constraint", cloned / "constraints.txt",
        f"git+file://{cloned}", cwd=tmp_path)
    installed = pins(run(python, "-m", "pip", "freeze", "--all", cwd=tmp_path))
    locked = pins((cloned / "constraints.txt").read_text())
    drift = {name: (version, locked.get(name)) for name, version in installed.items()
             if name not in ("pip", "setuptools", "wheel") and locked.get(name) != version}
    assert drift == {}, f"installed (left) differs from constraints.txt (right): {drift}"
    reconcile = venv / "bin/reconcile"
    assert run(reconcile, "--version", cwd=tmp_path) == f"reconcile (tuneops) {VERSION}\n"
    where = run(python, "-c", "import reconciler; print(reconciler.__file__)", cwd=tmp_path)
    assert Path(where.strip()).is_relative_to(venv), where

    # The commit comes from the install (pip's direct_url.json); the repository is named.
    repo = tmp_path / "tuning-configs"
    run(reconcile, "init", repo, "--action-repo", "acme/tuneops", cwd=tmp_path)
    for path, _ in FILES:
        assert "OWNER" not in (repo / path).read_text(), path
    workflow_files = [repo / ".github/workflows" / name
                      for name in ("plan.yml", "apply.yml", "drift.yml")]
    for path in workflow_files:
        uses = [line.strip() for line in path.read_text().splitlines()
                if "acme/tuneops" in line and "uses:" in line]
        assert uses and all(line == f"uses: acme/tuneops@{commit} # v{VERSION}"
                            for line in uses), uses
    findings = actionlint(workflow_files)
    assert findings == [], workflows.report(findings)
    linted = workflows.zizmor(repo / ".github/workflows", repo / ".pre-commit-config.yaml")
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "No findings" in linted.stdout, linted.stdout

    git(repo, "init", "-q", "-b", "main")
    assert "1 job valid." in run(reconcile, "validate", cwd=repo)
    plan = run(reconcile, "--dry-run", cwd=repo)
    assert "Plan: 1 to create" in plan
    assert "emulator" in plan


def test_the_lock_covers_every_dependency_within_its_range() -> None:
    """constraints.txt pins each dependency of pyproject.toml at a version it allows."""
    from packaging.requirements import Requirement  # noqa: PLC0415

    locked = pins((ROOT / "constraints.txt").read_text())
    for dependency in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
            "dependencies"]:
        requirement = Requirement(dependency)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in locked, f"{name} is not in constraints.txt: run .ci/lock"
        assert requirement.specifier.contains(locked[name]), (dependency, locked[name])
