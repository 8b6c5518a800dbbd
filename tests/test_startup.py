"""A command imports what it uses: validate nothing of the network, a text plan no plan
schema (pydantic builds it when its module is imported)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import Repo

# Run as a user runs it, in a fresh interpreter; prints the modules it imported.
SCRIPT = """
import json, sys, contextlib, io
from reconciler.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""
NETWORK = ("grpc", "google.cloud.aiplatform_v1", "google.cloud.storage", "google.auth", "git",
           "reconciler.emulator", "reconciler.backends", "reconciler.connect")


def imported(repo: Repo, *args: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, *args, "--root", str(repo.root)],
                          capture_output=True, text=True, check=True, timeout=120)
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["code"] == 0, done.stderr
    return set(result["modules"])


def test_validate_imports_nothing_of_the_network(repo: Repo) -> None:
    modules = imported(repo, "validate")
    assert "reconciler.load.desired" in modules
    assert sorted(m for m in modules if m.startswith(NETWORK)) == []


@pytest.mark.parametrize(("output", "schema"), [("text", False), ("json", True)])
def test_a_plan_builds_the_plan_schema_only_to_write_it(repo: Repo, output: str,
                                                        schema: bool) -> None:
    modules = imported(repo, "plan", "--output", output)
    assert "reconciler.plan.planner" in modules
    assert ("reconciler.output.planfile" in modules) is schema
