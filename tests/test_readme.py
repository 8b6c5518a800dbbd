"""README.md's two commands are the ones that work: CI runs the test one verbatim."""

from __future__ import annotations

from pathlib import Path

from reconciler.load import limits

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


def test_readme_limits_match_the_code() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Limits", 1)[1].split("\n## ", 1)[0]
    assert "| 1 MiB |" in section and limits.MAX_YAML_FILE_BYTES == limits.MIB
    assert f"| {limits.MAX_YAML_NODES:,} |" in section
    assert f"| {limits.MAX_YAML_DEPTH} levels |" in section
    assert f"| {limits.MAX_YAML_SCALAR_CHARS:,} characters |" in section
    assert "| 1 MiB, newline excluded |" in section
    assert limits.MAX_DATASET_LINE_BYTES == limits.MIB
