"""README.md's two commands are the ones that work: CI runs the test one verbatim."""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement

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


# --- Workload Identity Federation: the setup's commands grant what the workflows need, only.

WIF_HEADING = "### Setting up Workload Identity Federation"
IMPERSONATE = "roles/iam.workloadIdentityUser"
PLAN_ACCOUNT = "tuneops-plan@$PROJECT.iam.gserviceaccount.com"
APPLY_ACCOUNT = "tuneops-apply@$PROJECT.iam.gserviceaccount.com"
SUBJECT = "principal://iam.googleapis.com/$POOL/subject/repo:$REPO:"


# The one copy of the setup text: README.md links to it, `reconcile init` writes it into a
# config repository's README.
GITHUB_SETUP = ROOT / "reconciler/templates/init/github-setup.md"


def test_the_readme_points_to_the_github_setup() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split(WIF_HEADING, 1)[1].split("\n## ", 1)[0]
    assert f"]({GITHUB_SETUP.relative_to(ROOT)})" in section
    assert GITHUB_SETUP.read_text().startswith(WIF_HEADING)


def wif_commands() -> list[list[str]]:
    """The shell commands of the WIF block, continuation lines joined, as argv."""
    readme = GITHUB_SETUP.read_text()
    block = readme.split(WIF_HEADING, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    joined = block.replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def option(command: list[str], name: str) -> str | None:
    values = [arg.split("=", 1)[1] for arg in command if arg.startswith(f"--{name}=")]
    assert len(values) <= 1, command
    return values[0] if values else None


def impersonators() -> dict[str, set[str]]:
    """Service account -> the members allowed to impersonate it."""
    found: dict[str, set[str]] = {}
    for command in wif_commands():
        if command[:4] == ["gcloud", "iam", "service-accounts", "add-iam-policy-binding"]:
            assert option(command, "role") == IMPERSONATE, command
            member = option(command, "member")
            assert member is not None
            found.setdefault(command[4], set()).add(member)
    return found


def test_the_provider_maps_the_token_subject() -> None:
    [provider] = [c for c in wif_commands() if c[:5] == ["gcloud", "iam", "workload-identity-pools",
                                                        "providers", "create-oidc"]]
    mapping = option(provider, "attribute-mapping")
    assert mapping is not None
    assert "google.subject=assertion.sub" in mapping.split(",")
    assert option(provider, "attribute-condition") == "assertion.repository == '$REPO'"


def test_only_the_production_environment_can_impersonate_the_apply_account() -> None:
    members = impersonators()[APPLY_ACCOUNT]
    assert members == {SUBJECT + "environment:production"}
    assert not any(m.startswith("principalSet://") for m in members)


def test_the_plan_account_serves_pull_requests_and_the_drift_check_on_main() -> None:
    assert impersonators()[PLAN_ACCOUNT] == {SUBJECT + "pull_request",
                                             SUBJECT + "ref:refs/heads/main"}


def test_no_binding_trusts_the_whole_repository() -> None:
    for account, members in impersonators().items():
        for member in members:
            assert "attribute.repository" not in member, (account, member)
            assert member.startswith(SUBJECT), (account, member)


def subject_of(workflow: dict[str, Any], job: dict[str, Any]) -> str:
    """The OIDC subject GitHub gives a job of this workflow (default subject format)."""
    if "environment" in job:
        return f"environment:{job['environment']}"
    triggers = workflow[True]  # PyYAML reads the key `on:` as the boolean true
    if "pull_request" in triggers:
        return "pull_request"
    assert "schedule" in triggers, "a job without environment runs on the default branch"
    return "ref:refs/heads/main"


def test_each_workflow_can_impersonate_the_account_it_authenticates_as() -> None:
    accounts = {"GCP_PLAN_SERVICE_ACCOUNT": PLAN_ACCOUNT,
                "GCP_APPLY_SERVICE_ACCOUNT": APPLY_ACCOUNT}
    bound = impersonators()
    checked = 0
    for path in sorted((ROOT / ".github/workflows").glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                if not step.get("uses", "").startswith("google-github-actions/auth@"):
                    continue
                variable = step["with"]["service_account"].split("vars.")[1].strip(" }")
                assert SUBJECT + subject_of(workflow, job) in bound[accounts[variable]], path
                checked += 1
    assert checked == 3


def test_the_readme_names_every_dependency_floor() -> None:
    """README's floors table is pyproject.toml's `>=` bounds, every one, no other."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared: dict[str, str] = {}
    for text in project["dependencies"]:
        requirement = Requirement(text)
        declared[requirement.name] = next(spec.version for spec in requirement.specifier
                                          if spec.operator == ">=")
    section = (ROOT / "README.md").read_text().split("### Dependency floors", 1)[1]
    rows = [line.split("|") for line in section.split("\n## ", 1)[0].splitlines()
            if line.startswith("| ") and not line.startswith("| dependency")]
    assert {row[1].strip(): row[2].strip() for row in rows} == declared
