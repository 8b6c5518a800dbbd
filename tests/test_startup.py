"""A command imports what it uses: validate nothing of the network, a text plan no plan
schema (pydantic builds it when its module is imported), and nothing reaching Vertex AI
runs the `__init__` of its API packages (a second each: reconciler/apipackages.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from reconciler.apipackages import PACKAGES
from tests.conftest import Repo

# Run as a user runs it, in a fresh interpreter; prints the modules it imported, and the
# API packages registered whose `__init__` never ran.
SCRIPT = """
import json, sys, contextlib, io
from reconciler.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(sys.argv[1:])
deferred = sorted(name for name, module in sys.modules.items()
                  if type(module).__name__ == "_Deferred")
print(json.dumps({"code": code, "modules": sorted(set(sys.modules) - set(deferred)),
                  "deferred": deferred}))
"""
NETWORK = ("grpc", "google.cloud.aiplatform_v1", "google.cloud.storage", "google.auth", "git",
           "reconciler.emulator", "reconciler.backends", "reconciler.connect")


def run(repo: Repo, *args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, *args, "--root", str(repo.root)],
                          capture_output=True, text=True, check=True, timeout=120)
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    assert result["code"] == 0, done.stderr
    return result


def imported(repo: Repo, *args: str) -> set[str]:
    return set(run(repo, *args)["modules"])


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


def test_a_plan_imports_only_the_api_modules_it_uses(mixed_repo: Repo) -> None:
    # Every kind's jobs, on the embedded emulator: its services and tuneops' clients.
    result = run(mixed_repo, "plan")
    assert result["deferred"] == list(PACKAGES)
    services = {m.split(".")[4] for m in result["modules"]
                if m.startswith(("google.cloud.aiplatform_v1.services.",
                                 "google.cloud.aiplatform_v1beta1.services."))}
    # EndpointService is for undeploying and deleting: a plan does neither.
    assert services == {"gen_ai_tuning_service", "model_service", "pipeline_service"}
