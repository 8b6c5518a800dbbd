"""The code's own checks run as tests, so the README's one test command covers them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The planning core: importing it must pull in nothing that talks to the network.
PURE_MODULES = ("reconciler.core.plan", "reconciler.core.fingerprint",
                "reconciler.load.config", "reconciler.load.desired", "reconciler.kinds.pipeline",
                "reconciler.output.planfile")
IO_PACKAGES = ("google", "grpc", "git", "gcp_storage_emulator", "requests", "urllib3")


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff() -> None:
    result = run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


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
