"""The code's own checks run as tests, so the README's one test command covers them."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Planning and loading: importing them must pull in nothing that talks to the network, so
# `validate` never pays for the Google SDKs (import-linter checks the static imports; this
# checks what an import really loads).
PURE_MODULES = ("reconciler.plan.planner", "reconciler.kinds", "reconciler.load.desired",
                "reconciler.output.planfile")
IO_PACKAGES = ("google", "grpc", "git", "requests", "urllib3")


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff() -> None:
    result = run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts() -> None:
    """The layers of pyproject.toml's [tool.importlinter] contracts."""
    result = run(str(Path(sys.executable).parent / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_mypy() -> None:
    result = run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module", PURE_MODULES)
def test_core_imports_no_io_library(module: str) -> None:
    # Namespace packages (`google`, `google.cloud`) are pre-imported by .pth files at start-up.
    code = (f"import sys; before = set(sys.modules); import {module}; "
            f"print(sorted({{m.split('.')[0] for m in set(sys.modules) - before}} "
            f"& set({IO_PACKAGES!r})))")
    result = run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_one_layers_contract_names_every_folder_and_root_module() -> None:
    """Each package folder and root module is in the layers contract: nothing sits outside."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"]
    layered = [c for c in contracts if c["type"] == "layers"]
    assert len(layered) == 1
    named = {part.strip() for layer in layered[0]["layers"] for part in layer.split("|")}
    package = ROOT / "reconciler"
    expected = {f"reconciler.{p.name}" for p in package.iterdir()
                if p.is_dir() and (p / "__init__.py").exists()}
    expected |= {f"reconciler.{p.stem}" for p in package.glob("*.py")
                 if p.stem not in ("__init__", "__main__")}
    assert named == expected
