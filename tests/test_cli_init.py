"""`reconcile init`: a new config repository that validates, plans and lints straight away."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli import main
from reconciler.commands.init import FILES
from reconciler.emulator import start_emulator
from reconciler.emulator.open_models import OpenModelTuningJobs
from reconciler.emulator.tuning_jobs import TuningJobs
from tests import test_workflows as workflows
from tests.conftest import Repo, git

ROOT = Path(__file__).resolve().parent.parent
SHA = "0123456789abcdef0123456789abcdef01234567"
ACTION_REPOSITORY = "acme/tuneops"
PIN = ("--action-repo", ACTION_REPOSITORY, "--action-ref", SHA)
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
SCAFFOLD_WORKFLOWS = ("plan.yml", "apply.yml", "drift.yml")
# The session fixture of tests/test_workflows.py: actionlint installed once, shared.
actionlint = workflows.actionlint


def init(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["init", str(root), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def scaffold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Repo:
    root = tmp_path / "tuning-configs"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    code, out, err = init(root, capsys, *PIN)
    assert code == 0, err
    assert "wrote .github/workflows/plan.yml" in out
    made = Repo(root, capsys)
    made.commit("reconcile init")
    return made


def test_the_scaffold_validates_and_plans_on_the_emulator(scaffold: Repo) -> None:
    assert git(scaffold.root, "status", "--porcelain") == ""  # .reconciler/ is ignored
    validated = scaffold.run("validate")
    assert validated.code == 0, validated.err
    assert "1 job valid." in validated.out
    planned = scaffold.run("plan")
    assert planned.code == 0, planned.err
    assert "Plan: 1 to create" in planned.out
    dry_run = scaffold.cli("--dry-run")
    assert dry_run.code == 0, dry_run.err
    assert "gemini-example" in dry_run.out
    assert git(scaffold.root, "status", "--porcelain") == ""


@pytest.mark.parametrize(("kinds", "expected"), [
    ((), {"tuning-job"}),
    (("open-model",), {"open-model"}),
    (("tuning-job", "open-model", "tuning-job"), {"tuning-job", "open-model"}),
], ids=["default", "open-model", "both"])
def test_every_scaffolded_job_plans_and_launches_on_a_real_project(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        kinds: tuple[str, ...], expected: set[str]) -> None:
    """A new team's first real apply works: no kind the service has shut down, and an
    example of each kind asked for (without --kind: a Gemini job)."""
    root = tmp_path / "tuning-configs"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    asked = [arg for kind in kinds for arg in ("--kind", kind)]
    code, _, err = init(root, capsys, *PIN, *asked)
    assert code == 0, err
    made = Repo(root, capsys)
    made.commit("reconcile init")
    docs = [yaml.safe_load(path.read_text()) for path in (root / "configs").glob("*-example.yaml")]
    assert {doc["kind"] for doc in docs} == expected and len(docs) == len(expected)
    validated = made.run("validate")
    assert validated.code == 0, validated.err
    assert f"{len(expected)} job" in validated.out
    assert f"Plan: {len(expected)} to create" in made.run("plan").out
    made.edit("configs/reconciler.yaml", "# project: my-gcp-project", "project: my-gcp-project")
    made.commit("a project")
    with start_emulator(tmp_path / "vertex", job_seconds=3600) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        applied = made.run("apply", "--auto-approve")
        assert applied.code == 0, applied.out + applied.err
        assert "refused" not in applied.out
        assert len(OpenModelTuningJobs(emulator.store).all()) == ("open-model" in expected)
        assert len(TuningJobs(emulator.store).all()) == ("tuning-job" in expected)


@pytest.mark.parametrize(("kind", "message"), [
    ("pipeline", "--kind pipeline: no example of that kind"),
    ("llama", "--kind llama: no kind"),
])
def test_a_kind_without_an_example_is_refused_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, message: str) -> None:
    code, _, err = init(tmp_path, capsys, *PIN, "--kind", kind)
    assert code == 1
    [line] = err.splitlines()
    assert message in line, line
    assert "init has examples of tuning-job, open-model; nothing was written" in line
    assert not any(tmp_path.iterdir())


def test_one_example_job(scaffold: Repo) -> None:
    [path] = (scaffold.root / "configs").glob("*-example.yaml")
    doc = yaml.safe_load(path.read_text())
    assert doc["kind"] == "tuning-job"
    assert doc["base_model"] == "gemini-2.5-flash"
    settings = yaml.safe_load((scaffold.root / "configs/reconciler.yaml").read_text())
    assert "project" not in settings  # the emulator


def test_the_scaffolded_workflows_pass_actionlint(scaffold: Repo, actionlint: Any) -> None:
    paths = [scaffold.root / ".github/workflows" / name for name in SCAFFOLD_WORKFLOWS]
    findings = actionlint(paths)
    assert findings == [], workflows.report(findings)


def test_the_scaffold_passes_zizmor(scaffold: Repo) -> None:
    result = workflows.zizmor(scaffold.root / ".github/workflows",
                              scaffold.root / ".pre-commit-config.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout, result.stdout + result.stderr
    assert "ignored" not in result.stdout


def test_the_action_is_pinned_by_the_given_sha(scaffold: Repo) -> None:
    for name in SCAFFOLD_WORKFLOWS:
        text = (scaffold.root / ".github/workflows" / name).read_text()
        lines = [line for line in text.splitlines() if "uses: " + ACTION_REPOSITORY in line]
        assert lines
        for line in lines:
            assert line.endswith(f"uses: {ACTION_REPOSITORY}@{SHA} # v{VERSION}"), line
            assert workflows.PINNED_LINE.search(line), line
    hooks = yaml.safe_load((scaffold.root / ".pre-commit-config.yaml").read_text())
    assert hooks["repos"][0]["rev"] == SHA


def test_the_scaffolded_workflows_are_this_repositorys(scaffold: Repo) -> None:
    """Same triggers, permissions, environments and steps: only where the action comes from
    differs (this repository runs its own checkout)."""
    for name in SCAFFOLD_WORKFLOWS:
        text = (scaffold.root / ".github/workflows" / name).read_text()
        mine = yaml.safe_load(text.replace(f"{ACTION_REPOSITORY}@{SHA}", "./"))
        assert mine == workflows.load(workflows.WORKFLOWS / name), name


def test_no_placeholder_is_written(scaffold: Repo) -> None:
    for path, _ in FILES:
        text = (scaffold.root / path).read_text()
        assert "OWNER" not in text and "__TUNEOPS" not in text, path


def test_a_tag_is_written_with_how_to_pin_its_commit(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = init(tmp_path, capsys, "--action-repo", ACTION_REPOSITORY,
                        "--action-ref", f"v{VERSION}")
    assert code == 0, err
    plan = (tmp_path / ".github/workflows/plan.yml").read_text()
    assert f"uses: {ACTION_REPOSITORY}@v{VERSION}\n" in plan
    assert f"git ls-remote https://github.com/{ACTION_REPOSITORY} v{VERSION}" in plan
    hooks = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text())
    assert hooks["repos"][0]["rev"] == f"v{VERSION}"


def test_an_unknown_action_repository_is_refused_with_what_to_pass(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """This test's tuneops is an editable install: pip recorded no repository, and the
    package's own project URL is the unpublished placeholder."""
    code, _, err = init(tmp_path, capsys)
    assert code == 1
    [line] = err.splitlines()
    assert "pass --action-repo OWNER/REPO" in line and "nothing was written" in line
    assert not any(tmp_path.iterdir())


def test_an_unknown_commit_is_refused_with_what_to_pass(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = init(tmp_path, capsys, "--action-repo", ACTION_REPOSITORY)
    assert code == 1
    [line] = err.splitlines()
    assert "pass --action-ref with the 40-hex commit sha of acme/tuneops" in line
    assert f"git ls-remote https://github.com/acme/tuneops v{VERSION}" in line
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("repository", ["OWNER/tuneops", "acme", "acme/", "-acme/x",
                                        "acme/tune ops", "https://github.com/acme/tuneops"])
def test_a_bad_action_repository_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            repository: str) -> None:
    code, _, err = init(tmp_path, capsys, "--action-repo", repository, "--action-ref", SHA)
    assert code == 1
    assert "--action-repo" in err
    assert not any(tmp_path.iterdir())


def test_the_pre_commit_hook_is_this_repositorys(scaffold: Repo) -> None:
    [repo] = yaml.safe_load((scaffold.root / ".pre-commit-config.yaml").read_text())["repos"]
    provided = {hook["id"] for hook in yaml.safe_load(workflows.HOOKS_FILE.read_text())}
    assert repo["repo"] == f"https://github.com/{ACTION_REPOSITORY}"
    assert {hook["id"] for hook in repo["hooks"]} <= provided


def test_the_readme_explains_the_github_setup(scaffold: Repo) -> None:
    readme = (scaffold.root / "README.md").read_text()
    setup = (ROOT / "reconciler/templates/init/github-setup.md").read_text()
    assert setup.strip() in readme
    for variable in ("GCP_WORKLOAD_IDENTITY_PROVIDER", "GCP_PLAN_SERVICE_ACCOUNT",
                     "GCP_APPLY_SERVICE_ACCOUNT"):
        assert variable in readme
    assert "__TUNEOPS" not in readme


def test_a_second_init_refuses_to_overwrite(scaffold: Repo,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    before = (scaffold.root / "configs/reconciler.yaml").read_text()
    (scaffold.root / "configs/reconciler.yaml").write_text(before + "# mine\n")
    code, out, err = init(scaffold.root, capsys, *PIN)
    assert code == 1
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("reconcile: ")
    assert "configs/reconciler.yaml" in line and ".github/workflows/plan.yml" in line
    assert "--force" in line
    assert (scaffold.root / "configs/reconciler.yaml").read_text().endswith("# mine\n")


def test_one_existing_file_is_enough_to_refuse(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\n")
    code, _, err = init(tmp_path, capsys, *PIN)
    assert code == 1
    assert re.search(r": \.gitignore already exist", err), err
    assert not (tmp_path / "configs").exists()


def test_force_overwrites(scaffold: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    (scaffold.root / "configs/reconciler.yaml").write_text("nonsense: [\n")
    other = "89abcdef0123456789abcdef0123456789abcdef"
    code, _, err = init(scaffold.root, capsys, "--force", "--action-repo", ACTION_REPOSITORY,
                        "--action-ref", other)
    assert code == 0, err
    assert scaffold.run("validate").code == 0
    # The new sha now: --force rewrote the workflows too.
    assert f"@{other} # v{VERSION}\n" in (
        scaffold.root / ".github/workflows/apply.yml").read_text()


def test_every_file_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert init(tmp_path / "new" / "dir", capsys, *PIN)[0] == 0
    written = {p.relative_to(tmp_path / "new" / "dir").as_posix()
               for p in (tmp_path / "new" / "dir").rglob("*") if p.is_file()}
    assert written == {path for path, _ in FILES}
    for path in written:
        assert "__TUNEOPS" not in (tmp_path / "new" / "dir" / path).read_text(), path


@pytest.mark.parametrize("ref", ["", "v1 # x", "v1\nx", "-v1", "${{ github.ref }}"])
def test_a_bad_action_ref_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     ref: str) -> None:
    code, _, err = init(tmp_path, capsys, "--action-repo", ACTION_REPOSITORY, "--action-ref", ref)
    assert code == 1
    assert "--action-ref" in err
    assert not any(tmp_path.iterdir())


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"reconcile (tuneops) {VERSION}\n"
