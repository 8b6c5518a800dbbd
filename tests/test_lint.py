"""The code's own checks run as tests, so the README's one test command covers them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Planning and loading: importing them must pull in nothing that talks to the network, so
# `validate` never pays for the Google SDKs (import-linter checks the static imports; this
# checks what an import really loads).
PURE_MODULES = ("reconciler.core.plan", "reconciler.kinds", "reconciler.load.desired",
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
