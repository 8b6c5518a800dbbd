"""The CLI's manners, after Terraform's: --target with its warning, help that ends with an
example and the exit codes, output that fits a 60- or 100-column terminal, and nothing on
the terminal but tuneops' own words."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.console import Console

from reconciler.cli import app
from reconciler.core.observed import JobState, ObservedJob
from reconciler.emulator.names import project_number
from reconciler.output.text import JobProgress
from tests.conftest import GEMINI_CONFIG, Repo
from tests.terminal import on_terminal
from tests.test_cli_apply import BIGQUERY, VISION, plan_json
from tests.test_cli_mistakes import run


def run_on_terminal(command: list[str], columns: int) -> tuple[int, list[str]]:
    code, screen = on_terminal(command, columns=columns)
    return code, screen.splitlines()


def reconcile(repo: Repo, *args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler", *args, "--root", str(repo.root)]


# --- --target ------------------------------------------------------------------------------

def test_target_plans_and_applies_only_the_named_job_with_terraforms_warning(
        repo: Repo) -> None:
    planned = repo.run("plan", "--target", "bigquery-snippets")
    assert planned.code == 0, planned.err
    assert "Warning: Targeting is in effect" in planned.out
    assert "not for routine use" in planned.out
    assert "create   cloud-vision-chat" not in planned.out
    assert "Plan: 1 to create" in planned.out
    data = json.loads(repo.run("plan", "--target", "bigquery-snippets", "--output",
                               "json").out)
    assert data["targets"] == ["bigquery-snippets"]
    assert [a["name"] for a in data["actions"]] == ["bigquery-snippets"]
    applied = repo.run("apply", "--target", "bigquery-snippets")
    assert applied.code == 0, applied.err
    assert "Applied changes may be incomplete" in applied.out
    assert [job_id.rsplit("-", 1)[0] for job_id in repo.job_ids()] == ["bigquery-snippets"]
    assert plan_json(repo)["cloud-vision-chat"]["action"] == "create"


def test_a_target_plan_file_applies_the_same_targets(repo: Repo, tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    assert repo.run("plan", "--target", "cloud-vision-chat", "--out", str(saved)).code == 0
    refused = repo.run("apply", str(saved), "--target", "bigquery-snippets")
    assert refused.code == 1
    assert "--target cannot be given with a plan file" in refused.err
    assert repo.run("apply", str(saved)).code == 0
    assert [job_id.rsplit("-", 1)[0] for job_id in repo.job_ids()] == ["cloud-vision-chat"]


def test_an_unknown_target_is_an_error_with_a_suggestion(repo: Repo) -> None:
    result = repo.run("plan", "--target", "bigquery-snipets")
    assert result.code == 1
    assert result.err.strip() == ("reconcile: --target 'bigquery-snipets': no job of that "
                                  "name in configs or in Vertex AI; did you mean "
                                  "'bigquery-snippets'?")


# --- help ----------------------------------------------------------------------------------

def _commands(command: Any, path: tuple[str, ...] = ("reconcile",)
              ) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, command)]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, (*path, name))
    return found


# typer brings a click of its own: its commands are walked as they are, by duck typing.
COMMANDS = _commands(typer.main.get_command(app))


def test_every_command_is_walked() -> None:
    assert {" ".join(path) for path, _ in COMMANDS} >= {
        "reconcile plan", "reconcile show", "reconcile status", "reconcile init",
        "reconcile emulator faults", "reconcile emulator serve"}


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
@pytest.mark.parametrize("width", [60, 100])
def test_every_help_describes_every_option_and_ends_with_an_example_and_exit_codes(
        path: tuple[str, ...], command: Any, width: int) -> None:
    for param in command.params:
        if param.param_type_name == "option":
            assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"
    context = command.context_class(command, info_name=" ".join(path), terminal_width=width,
                                    max_content_width=width)
    text = command.get_help(context)
    example, _, codes = text.partition("Exit codes:")
    assert re.search(r"Example:\n +reconcile ", example), text
    assert re.search(r"^ +0 ", codes, re.M) and re.search(r"^ +3 +an unexpected", codes, re.M)
    # No summary cut short (the usage line's `[ARGS]...` is click's syntax).
    assert "..." not in text.split("\n\n", 1)[1], text


# --- terminal width ------------------------------------------------------------------------

@pytest.fixture
def two_runs(repo: Repo) -> Repo:
    """bigquery-snippets tuned twice (the second run is the current one), both succeeded."""
    assert repo.cli().code == 0
    repo.advance()
    repo.edit(BIGQUERY, "train_steps: 300", "train_steps: 400")
    repo.commit("more steps")
    assert repo.cli().code == 0
    repo.advance()
    return repo


@pytest.mark.parametrize("columns", [60, 80, 100])
def test_status_fits_the_terminal_with_whole_ids_and_marks_the_current_run(
        two_runs: Repo, columns: int) -> None:
    code, lines = run_on_terminal(reconcile(two_runs, "status"), columns)
    assert code == 0, lines
    assert all(len(line) <= columns for line in lines), lines
    observed = json.loads(two_runs.run("status", "--output", "json").out)
    text = "\n".join(lines)
    for job in observed["jobs"]:
        assert re.search(rf"^ +(\* )?{job['job_id']}(  |$)", text, re.M), (job, text)
        assert job["state"] in text
    current = [job for job in observed["jobs"] if job["current"]]
    assert {job["name"] for job in current} == {"bigquery-snippets", "cloud-vision-chat"}
    newest = max((j for j in observed["jobs"] if j["name"] == "bigquery-snippets"),
                 key=lambda j: j["create_time"])
    assert newest["current"]
    for job in current:
        assert re.search(rf"^  \* {job['job_id']}\b", text, re.M), text
    for model in observed["models"]:
        mark = r"\* " if model["current"] else "  "
        assert re.search(rf"^  {mark}{model['resource'].rsplit('/', 1)[-1]}\b", text, re.M)
    # Narrow: the id on a line of its own, the state under it; wide: one line each.
    one_line = re.search(rf"{newest['job_id']}  succeeded", text)
    assert bool(one_line) == (columns >= 80), text


def test_status_of_one_name_shows_its_runs_models_and_endpoints(two_runs: Repo) -> None:
    result = two_runs.run("status", "bigquery-snippets")
    assert result.code == 0, result.err
    assert result.out.count("resource: projects/") >= 3  # two runs, a Model
    # The service names resources by the project's number.
    assert (f"endpoint: projects/{project_number('tuneops-local')}/locations/us-central1/"
            "endpoints/") in result.out
    assert "commit: " in result.out
    assert "cloud-vision-chat" not in result.out
    unknown = two_runs.run("status", "bigquery-snipets")
    assert unknown.code == 1
    assert "did you mean 'bigquery-snippets'?" in unknown.err


def test_status_shows_a_renamed_jobs_runs_under_its_new_name_even_with_invalid_configs(
        gemini: Repo) -> None:
    assert gemini.cli().code == 0
    gemini.advance()
    gemini.edit(GEMINI_CONFIG, "name: bigquery-gemini", "name: sql-assistant")
    gemini.commit("rename")
    assert gemini.cli().code == 0
    gemini.edit(GEMINI_CONFIG, "epoch_count: 3", "epoch_count: three")  # invalid now
    for asked in ("sql-assistant", "bigquery-gemini"):  # the new name, and the old one
        result = gemini.run("status", asked)
        assert result.code == 0, result.err
        assert "the configs have 1 error" in result.err
        assert re.search(r"^sql-assistant \(tuning-job\)$", result.out, re.M), result.out
        assert re.search(r"^  \* \d+  succeeded  .*  launched as bigquery-gemini$",
                         result.out, re.M), result.out
        assert not re.search(r"^bigquery-gemini", result.out, re.M)
    listed = json.loads(gemini.run("status", "--output", "json").out)
    assert {job["name"] for job in listed["jobs"]} == {"sql-assistant"}
    assert {job["launched_as"] for job in listed["jobs"]} == {"bigquery-gemini"}


def test_target_goes_with_options_before_the_subcommand_and_allow_empty(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = run(repo, "-C", str(repo.root), "plan", "--target", "bigquery-snippets",
                         "--output", "json")
    assert code == 0, err
    assert [action["name"] for action in json.loads(out)["actions"]] == ["bigquery-snippets"]
    code, out, err = run(repo, "-C", str(repo.root), "--auto-approve", "apply", "--target",
                         "cloud-vision-chat")
    assert code == 0, err
    assert "Applied changes may be incomplete" in out
    assert [job_id.rsplit("-", 1)[0] for job_id in repo.job_ids()] == ["cloud-vision-chat"]
    code, _, err = run(repo, "--dry-run", "apply", "--target", "bigquery-snippets")
    assert code == 1 and "--dry-run cannot come before apply" in err
    assert len(repo.job_ids()) == 1
    repo.advance()
    for config in (BIGQUERY, VISION):
        (repo.root / config).unlink()
    # Pruning one targeted orphan of an empty desired state is still pruning all there is.
    code, _, err = run(repo, "-C", str(repo.root), "apply", "--prune", "--target",
                       "cloud-vision-chat")
    assert code == 1 and "refusing to prune: configs/ holds no job" in err
    assert plan_json(repo)["cloud-vision-chat"]["action"] == "orphan"
    code, out, err = run(repo, "-C", str(repo.root), "apply", "--prune", "--allow-empty",
                         "--target", "cloud-vision-chat")
    assert code == 0, (out, err)
    assert "cloud-vision-chat" not in plan_json(repo)


@pytest.mark.parametrize("columns", [60, 100])
def test_plan_wraps_between_words_at_the_terminal_width(repo: Repo, columns: int) -> None:
    long = "word " * 30
    repo.edit(VISION, "labels: {team: vision}", "labels: {team: vision}\n"
              f"description: \"{long.strip()}\"")
    assert repo.cli().code == 0
    repo.advance()
    repo.edit(VISION, long.strip(), (long + "more").strip())
    code, lines = run_on_terminal(reconcile(repo, "plan"), columns)
    assert code == 0, lines
    assert all(len(line) <= columns for line in lines), lines
    start = next(i for i, line in enumerate(lines) if "~ description:" in line)
    end = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("model"))
    wrapped = lines[start:end]
    # Words stay whole; the lines after the first are indented under it.
    words = " ".join(wrapped).split()
    assert words == ["~", "description:", "->", *["word"] * 30, "more"], wrapped
    assert len(wrapped) > 1 and all(line.startswith(" " * 10) for line in wrapped[1:]), wrapped


# --- apply --wait --------------------------------------------------------------------------

def _job(state: JobState, created: datetime) -> ObservedJob:
    return ObservedJob(kind="tuning-job", job_id="5000000000000000001", resource="r",
                       name="bigquery-gemini", fingerprint="f" * 40, state=state,
                       create_time=created.isoformat(), inputs={}, metadata={})


def test_wait_shows_each_jobs_elapsed_time_and_the_last_poll() -> None:
    started = datetime(2026, 1, 2, 10, 0, tzinfo=UTC)
    now = [started + timedelta(minutes=2, seconds=5)]
    logs = Console(width=100, record=True)
    progress = JobProgress(logs, clock=lambda: now[0])
    polled = []
    for state, later in ((JobState.RUNNING, timedelta()),
                         (JobState.RUNNING, timedelta(minutes=5)),  # no news: no line
                         (JobState.RUNNING, timedelta(minutes=6)),  # a quiet 11 min: a line
                         (JobState.SUCCEEDED, timedelta(minutes=49))):
        now[0] += later
        polled.append(now[0].astimezone().strftime("%H:%M:%S"))
        progress({"bigquery-gemini": _job(state, started)})
    assert logs.export_text().splitlines() == [
        f"  [{polled[0]}] bigquery-gemini: 5000000000000000001 running (after 2m 05s)",
        f"  [{polled[2]}] still waiting for bigquery-gemini (13m 05s)",
        f"  [{polled[3]}] bigquery-gemini: 5000000000000000001 succeeded (after 1h 02m)"]
    screen = Console(width=60, record=True, force_terminal=True)
    with JobProgress(screen, clock=lambda: now[0]) as live:
        live({"bigquery-gemini": _job(JobState.RUNNING, started)})
    shown = screen.export_text()
    assert "elapsed" in shown and "1h 02m" in shown
    assert f"last poll {polled[-1]}" in shown
    assert "5000000000000000001" in shown  # a whole id, even at 60 columns


def test_apply_wait_reports_elapsed_times(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEOPS_EMULATOR_JOB_SECONDS", "0.3")
    result = repo.run("apply", "--wait", "--timeout", "60")
    assert result.code == 0, result.err
    assert re.search(r"\[\d\d:\d\d:\d\d\] bigquery-snippets: bigquery-snippets-\w+ succeeded "
                     r"\(after \d+s\)", result.out), result.out


# --- only tuneops' own output ----------------------------------------------------------------

GRPC_LOGS = textwrap.dedent("""
    import socket, sys
    from concurrent import futures
    from pathlib import Path
    from reconciler.connect import connect
    from reconciler.core.desired import Target

    root = Path(sys.argv[1])
    with connect(Target("tuneops-local", True, "gs://tuneops-local/staging"), root):
        import grpc  # the core was loaded by connect, before this
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = grpc.server(futures.ThreadPoolExecutor(1))
        try:  # the core logs "Failed to add port" to stderr by itself, by default
            server.add_insecure_port(f"127.0.0.1:{taken.getsockname()[1]}")
        except RuntimeError:
            print("refused")
""")


def test_grpc_core_log_lines_never_reach_the_terminal(repo: Repo) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRPC_VERBOSITY"}
    result = subprocess.run([sys.executable, "-c", GRPC_LOGS, str(repo.root)], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "refused\n"
    assert result.stderr == ""
