"""README.md's two commands are the ones that work: CI runs the test one verbatim."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_test_command() -> None:
    ci_command = (ROOT / ".ci/run").read_text().strip().splitlines()[-1]
    assert "pytest" in ci_command
    readme = (ROOT / "README.md").read_text()
    assert f"\n{ci_command}\n" in readme


def test_readme_names_every_command() -> None:
    readme = (ROOT / "README.md").read_text()
    for command in ("validate", "plan", "apply", "status", "schema", "emulator serve"):
        assert f"reconcile {command}" in readme
