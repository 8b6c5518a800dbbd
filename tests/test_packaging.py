"""The package as users get it: built into a wheel and an sdist, installed by name into a
fresh virtualenv, with no source tree on the path."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

from reconciler.commands.init import FILES

ROOT = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
# The environment as pytest started (tests/conftest.py points HOME at /dev/null for each
# test): pip needs the real one for its cache and its configured index.
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
SHIPPED = ("reconciler/schema/job.schema.json",
           *(f"reconciler/templates/init/{template}" for _, template in FILES),
           "reconciler/templates/init/github-setup.md")


def run(*command: str | Path, cwd: Path, timeout: float = 600) -> str:
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=ENV,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=timeout, check=False)
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def build(out: Path) -> tuple[Path, Path]:
    """`python -m build`: the sdist, then the wheel built from it (so the sdist is complete)."""
    out.mkdir()
    run(sys.executable, "-m", "build", "--outdir", out, ROOT, cwd=out)
    [wheel] = out.glob(f"tuneops-{VERSION}-py3-none-any.whl")
    [sdist] = out.glob(f"tuneops-{VERSION}.tar.gz")
    return wheel, sdist


# One test, not two sharing a fixture: under xdist two workers would build in the same
# source tree (build/, *.egg-info) at once.
def test_the_package_builds_installs_by_name_and_works(tmp_path: Path) -> None:
    wheel, sdist = build(tmp_path / "dist")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(SHIPPED) <= names, set(SHIPPED) - names
    with tarfile.open(sdist) as archive:
        members = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert set(SHIPPED) <= members, set(SHIPPED) - members

    venv = tmp_path / "venv"
    # A virtualenv of its own, no system site-packages: dependencies come from the index.
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    run(venv / "bin/python", "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path)
    reconcile = venv / "bin/reconcile"
    assert run(reconcile, "--version", cwd=tmp_path) == f"reconcile (tuneops) {VERSION}\n"
    where = run(venv / "bin/python", "-c", "import reconciler; print(reconciler.__file__)",
                cwd=tmp_path)
    assert Path(where.strip()).is_relative_to(venv), where

    repo = tmp_path / "configs-repo"
    run(reconcile, "init", repo, cwd=tmp_path)
    run("git", "init", "-q", "-b", "main", cwd=repo)
    assert "2 jobs valid." in run(reconcile, "validate", cwd=repo)
    plan = run(reconcile, "--dry-run", cwd=repo)
    assert "Plan: 2 to create" in plan
    assert "emulator" in plan
