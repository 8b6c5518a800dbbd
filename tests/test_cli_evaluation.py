"""Evaluation and promotion end to end: the real CLI, PredictionServiceClient and
EvaluationServiceClient against the emulator; scores and channels in its storage."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.apply.execute import apply
from reconciler.backends.channels import ChannelPointers
from reconciler.commands.apply import failure_reasons, failures
from reconciler.commands.plan import make_plan
from reconciler.connect import connect
from reconciler.core.channels import Promoted, Scoring, score_text
from reconciler.core.runkey import RunKey
from reconciler.edges.storage import Storage
from reconciler.emulator import EmulatorStore, start_emulator
from reconciler.emulator.models import Endpoints, Models
from reconciler.emulator.names import project_number
from reconciler.emulator.tuning_jobs import TuningJobs
from reconciler.load.config import load_config
from reconciler.load.desired import build_desired
from reconciler.output import escape
from reconciler.plan.actions import Evaluate
from tests.conftest import EXAMPLES, GEMINI_CONFIG, Repo, git
from tests.test_cli_manners import reconcile, run_on_terminal

NAME = "bigquery-gemini"
EVAL = "datasets/bigquery-gemini-eval.jsonl"
SOUP = "datasets/soup.jsonl"
MIXED = "datasets/mixed.jsonl"
TRAINING = "training_dataset_uri: datasets/bigquery-gemini.jsonl"
STEPS = ("evaluate", "promote", "hold")
EVALUATION = f"""
evaluation:
  dataset_uri: {EVAL}
  metric: rouge_l
promotion:
  channel: production
"""
STAGING = "gs://tuneops-local/staging"
POINTER = f"{STAGING}/records/tuneops-local/channels/production"


def soup(count: int, word: str = "recipe") -> list[str]:
    return [json.dumps({"contents": [
        {"role": "user", "parts": [{"text": f"Give me {word} number {n} for a vegetable soup"}]},
        {"role": "model", "parts": [{"text": f"Chop {n + 2} carrots and an onion, simmer "
                                              f"them in stock for {10 + n} minutes."}]}]})
            for n in range(count)]


@pytest.fixture
def channel(gemini: Repo) -> Repo:
    """The Gemini example with an evaluation dataset and a channel; unrelated data beside."""
    result = gemini.run("convert-dataset", str(EXAMPLES / "datasets/bigquery-eval.jsonl"),
                        str(gemini.root / EVAL))
    assert result.code == 0, result.err
    bigquery = (gemini.root / "datasets/bigquery-gemini.jsonl").read_text().splitlines()
    gemini.write(SOUP, "\n".join(soup(20)) + "\n")
    gemini.write(MIXED, "\n".join([*soup(20), *bigquery[:4]]) + "\n")
    with (gemini.root / GEMINI_CONFIG).open("a") as config:
        config.write(EVALUATION)
    gemini.commit("evaluate and promote")
    return gemini


def plan_actions(repo: Repo, *args: str) -> list[dict[str, object]]:
    result = repo.run("plan", "--output", "json", *args)
    assert result.code == 0, result.err
    return json.loads(result.out)["actions"]  # type: ignore[no-any-return]


def kinds(repo: Repo) -> list[str]:
    return [str(action["action"]) for action in plan_actions(repo) if action["name"] == NAME]


def step(repo: Repo) -> dict[str, object] | None:
    """The job's evaluation action in a fresh plan (evaluate, promote or hold), if any."""
    return next((a for a in plan_actions(repo) if a["name"] == NAME and a["action"] in STEPS),
                None)


def resolve(repo: Repo) -> dict[str, object]:
    result = repo.run("resolve", NAME, "--output", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)  # type: ignore[no-any-return]


def tuned(repo: Repo) -> list[str]:
    return [job.name for job in TuningJobs(repo.emulator).all()]


def run_and_finish(repo: Repo) -> None:
    """Applies (launching what the plan launches) and lets the runs succeed."""
    result = repo.run("apply")
    assert result.code == 0, (result.out, result.err)
    repo.advance()


def apply_ok(repo: Repo) -> str:
    result = repo.run("apply")
    assert result.code == 0, (result.out, result.err)
    return result.out


def asked(store: EmulatorStore) -> tuple[int, int]:
    calls = store.calls()
    return calls.get("GenerateContent", 0), calls.get("EvaluateInstances", 0)


def test_evaluation_and_promotion_are_metadata_they_never_retune(gemini: Repo) -> None:
    run_and_finish(gemini)
    before = plan_actions(gemini)
    gemini.run("convert-dataset", str(EXAMPLES / "datasets/bigquery-eval.jsonl"),
               str(gemini.root / EVAL))
    with (gemini.root / GEMINI_CONFIG).open("a") as config:
        config.write(EVALUATION)
    after = plan_actions(gemini)
    assert [a["action"] for a in after] == ["noop", "evaluate"]
    assert after[0] == before[0]  # the same run, fingerprint and Model: nothing re-tunes
    gemini.edit(GEMINI_CONFIG, "channel: production", "channel: production\n  min_score: 0.3")
    gemini.edit(GEMINI_CONFIG, "metric: rouge_l", "metric: bleu")
    assert plan_actions(gemini)[0] == before[0]
    assert len(tuned(gemini)) == 1


def test_a_first_run_is_evaluated_and_promoted(channel: Repo) -> None:
    run_and_finish(channel)
    (job,) = TuningJobs(channel.emulator).all()
    evaluate = step(channel)
    assert evaluate is not None and evaluate["action"] == "evaluate", evaluate
    assert [run["job_id"] for run in evaluate["runs"]] == [job.name.rsplit("/", 1)[-1]]
    estimate = evaluate["estimate"]
    assert estimate["prediction_tokens"] > 0 and estimate["dollars"] > 0
    channel.emulator.reset_calls()
    out = apply_ok(channel)
    assert "promoted" in out and "→ production" in out
    assert asked(channel.emulator) == (12, 1)  # each example asked once, scored in one call
    resolved = resolve(channel)
    assert resolved["job"] == job.name
    assert resolved["endpoint"] == job.tuned_model.endpoint
    # The Model as the list call names it; the run names its version (`@1`).
    assert job.tuned_model.model.startswith(f"{resolved['model']}@")
    assert resolved["score"] > 0.5
    # Recorded: the next plan evaluates nothing and promotes nothing.
    assert kinds(channel) == ["noop"]
    channel.emulator.reset_calls()
    assert "No changes" in apply_ok(channel)
    assert asked(channel.emulator) == (0, 0)
    model = next(m for m in Models(channel.emulator).all() if m.name == resolved["model"])
    assert model.labels["tuneops-channel-production"] == "tuneops"


def test_a_run_tuned_on_unrelated_data_is_held_and_a_revert_costs_nothing(channel: Repo
                                                                          ) -> None:
    run_and_finish(channel)
    apply_ok(channel)
    first = resolve(channel)
    channel.edit(GEMINI_CONFIG, TRAINING, f"training_dataset_uri: {SOUP}")
    channel.commit("tune on soup")
    markdown = channel.run("plan", "--output", "markdown").out
    assert escape.markdown("After the run: will be promoted to production if rouge_l ≥"
                           ) in markdown
    assert escape.markdown("(the current run's score)") in markdown
    run_and_finish(channel)
    out = apply_ok(channel)
    assert "held" in out and "production stays on run" in out
    held = step(channel)
    assert held is not None and held["action"] == "hold"
    assert held["candidate"]["score"] < held["promotion"]["current"]["score"]
    assert resolve(channel) == first
    assert channel.run("plan", "--detailed-exitcode").code == 0  # a hold is no change
    git(channel.root, "revert", "--no-edit", "HEAD")
    channel.emulator.reset_calls()
    assert kinds(channel) == ["noop"]
    apply_ok(channel)
    assert asked(channel.emulator) == (0, 0)
    assert len(tuned(channel)) == 2
    assert resolve(channel) == first


def test_git_revert_of_a_promotion_promotes_back_with_no_launch_or_evaluation(
        channel: Repo) -> None:
    channel.edit(GEMINI_CONFIG, TRAINING, f"training_dataset_uri: {MIXED}")
    channel.commit("tune on mixed data")
    run_and_finish(channel)
    apply_ok(channel)
    earlier = resolve(channel)
    channel.edit(GEMINI_CONFIG, f"training_dataset_uri: {MIXED}", TRAINING)
    channel.commit("tune on the whole dataset")
    run_and_finish(channel)
    apply_ok(channel)
    better = resolve(channel)
    assert better["job"] != earlier["job"] and better["score"] > earlier["score"]
    git(channel.root, "revert", "--no-edit", "HEAD")
    promote = step(channel)
    assert promote is not None and promote["action"] == "promote", promote
    assert "a rollback" in str(promote["reason"])
    assert "estimate" not in promote
    channel.emulator.reset_calls()
    out = apply_ok(channel)
    assert "promoted" in out
    assert asked(channel.emulator) == (0, 0)
    calls = channel.emulator.calls()
    assert "CreateTuningJob" not in calls
    assert len(tuned(channel)) == 2
    back = resolve(channel)
    assert (back["job"], back["score"]) == (earlier["job"], earlier["score"])
    assert kinds(channel) == ["noop"]


def test_a_changed_evaluation_dataset_scores_both_runs_again_and_decides_on_new_scores(
        channel: Repo) -> None:
    run_and_finish(channel)
    apply_ok(channel)
    first = resolve(channel)
    channel.edit(GEMINI_CONFIG, TRAINING, f"training_dataset_uri: {SOUP}")
    channel.commit("tune on soup")
    run_and_finish(channel)
    assert "held" in apply_ok(channel)
    # Now the application is about soup: the same two runs, judged on new data.
    channel.write("datasets/soup-eval.jsonl", "\n".join(soup(6, "the recipe")) + "\n")
    channel.edit(GEMINI_CONFIG, f"dataset_uri: {EVAL}", "dataset_uri: datasets/soup-eval.jsonl")
    channel.commit("evaluate on soup")
    actions = plan_actions(channel)
    assert [a["action"] for a in actions] == ["noop", "evaluate"]
    evaluate = actions[1]
    assert sorted(run["job_id"] for run in evaluate["runs"]) == sorted(
        job.rsplit("/", 1)[-1] for job in tuned(channel))
    assert evaluate["estimate"]["prediction_tokens"] > 0
    channel.emulator.reset_calls()
    assert "promoted" in apply_ok(channel)
    assert asked(channel.emulator) == (12, 2)  # six examples, two runs
    now = resolve(channel)
    assert now["job"] != first["job"]
    assert now["evaluation_dataset"] != first["evaluation_dataset"]
    assert len(tuned(channel)) == 2


def test_plans_markdown_json_and_status_show_scores_and_estimates(channel: Repo) -> None:
    run_and_finish(channel)
    text = channel.run("plan").out
    assert "? evaluate bigquery-gemini" in text
    assert "prediction tokens" in text and "1 to evaluate" in text
    assert "This plan runs 1 evaluation:" in text
    markdown = channel.run("plan", "--output", "markdown").out
    assert "| 🧪 | `bigquery-gemini` | evaluate |" in markdown
    assert "**This plan runs 1 evaluation: ≈" in markdown
    data = json.loads(channel.run("plan", "--output", "json").out)
    assert data["summary"]["evaluate"] == 1
    assert data["totals"]["evaluations"] == 1 and data["totals"]["evaluation_dollars"] > 0
    apply_ok(channel)
    status = channel.run("status")
    assert re.search(r"^  \* \d+  succeeded  .*  promoted to production$", status.out, re.M)
    assert re.search(r"^      score: rouge_l [0-9.]+ on evaluation data [0-9a-f]{12}$",
                     status.out, re.M), status.out
    scored = json.loads(channel.run("status", "--output", "json").out)
    assert [c["channel"] for c in scored["channels"]] == ["production"]
    assert scored["scores"][0]["metric"] == "rouge_l"
    channel.edit(GEMINI_CONFIG, TRAINING, f"training_dataset_uri: {SOUP}")
    channel.commit("soup")
    run_and_finish(channel)
    apply_ok(channel)
    assert "= hold     bigquery-gemini" in channel.run("plan").out
    assert "| ✋ | `bigquery-gemini` | hold |" in channel.run("plan", "--output", "markdown").out


def test_evaluation_counts_against_the_budget(channel: Repo) -> None:
    run_and_finish(channel)
    channel.emulator.reset_calls()
    capped = channel.run("apply", "--max-cost", "0")
    assert capped.code == 1 and "Over budget" in capped.out
    assert "bigquery-gemini evaluation $" in capped.out
    assert asked(channel.emulator) == (0, 0)
    settings = (channel.root / "configs/reconciler.yaml").read_text()
    channel.write("configs/reconciler.yaml", settings + "budget:\n  max_per_apply: 0\n")
    result = channel.run("apply")
    assert result.code == 1
    assert "Over budget" in result.out and "bigquery-gemini evaluation $" in result.out
    assert asked(channel.emulator) == (0, 0)
    channel.write("configs/reconciler.yaml", settings + "budget:\n  max_per_apply: 1\n"
                  "prediction_prices:\n  gemini-2.5-flash: 1000000\n")
    assert "Over budget" in channel.run("plan").out


def test_evaluation_survives_faults_and_lost_responses(channel: Repo) -> None:
    run_and_finish(channel)
    channel.emulator.set_faults(unavailable_rate=0.2, resource_exhausted_rate=0.1,
                                drop_create_response_rate=0.3, seed=7)
    out = apply_ok(channel)
    channel.emulator.set_faults()
    assert "promoted" in out
    assert resolve(channel)["score"] > 0.5


def test_a_promoted_model_is_never_pruned(channel: Repo) -> None:
    run_and_finish(channel)
    apply_ok(channel)
    promoted = resolve(channel)
    (channel.root / GEMINI_CONFIG).unlink()
    (orphan,) = plan_actions(channel)
    assert orphan["action"] == "orphan"
    assert f"keeps {promoted['model']}: production points to it" in str(orphan["reason"])
    assert orphan["models"] == []
    assert channel.run("apply", "--prune", "--allow-empty").code == 0
    assert promoted["model"] in [m.name for m in Models(channel.emulator).all()]
    assert promoted["endpoint"] in [e.name for e in Endpoints(channel.emulator).all()]
    assert resolve(channel) == promoted
    # Prune converges: the orphan that keeps the channel's Model is reported, not pruned.
    again = channel.run("apply", "--prune")
    assert again.code == 0, again.err
    assert "No changes. Nothing launched." in again.out
    assert "keeps" in channel.run("plan").out


def test_a_promoted_run_that_completed_despite_its_cancel_is_no_leftover(channel: Repo
                                                                           ) -> None:
    """A cancel is best effort: a superseded run tuneops cancelled may complete. Once `git
    revert` promotes it, a change away from it must not make it a leftover that --prune
    removes: the channel still points to it."""
    channel.emulator.set_quirks(cancel_outcome="succeeded")
    assert channel.run("apply").code == 0  # run 1, still running
    channel.edit(GEMINI_CONFIG, TRAINING, f"training_dataset_uri: {SOUP}")
    apply_ok(channel)  # run 2; run 1 cancelled as superseded, and completes anyway
    channel.advance()
    channel.edit(GEMINI_CONFIG, f"training_dataset_uri: {SOUP}", TRAINING)
    assert "promoted" in apply_ok(channel)  # back to run 1: evaluated, promoted
    promoted = resolve(channel)
    channel.edit(GEMINI_CONFIG, TRAINING, f"training_dataset_uri: {SOUP}")
    apply_ok(channel)  # run 2, tuned on unrelated data, is held
    assert resolve(channel) == promoted
    (tuning,) = [a for a in plan_actions(channel) if a["action"] == "noop"]
    assert tuning["leftovers"] == []
    assert channel.run("apply", "--prune").code == 0
    assert promoted["model"] in [m.name for m in Models(channel.emulator).all()]
    assert promoted["endpoint"] in [e.name for e in Endpoints(channel.emulator).all()]
    assert resolve(channel) == promoted


def test_a_retired_model_is_never_scored_or_promoted(channel: Repo) -> None:
    """A Model the service would not delete is retired by prune: its endpoints are gone.
    Back in git, its run is never evaluated or promoted through it."""
    channel.emulator.set_quirks(delete_tuned_model=False)
    run_and_finish(channel)
    config = (channel.root / GEMINI_CONFIG).read_text()
    (channel.root / GEMINI_CONFIG).unlink()
    assert channel.run("apply", "--prune", "--allow-empty").code == 0
    retired = json.loads(channel.run("plan", "--output", "json").out)["retired"]
    assert len(retired) == 1
    channel.write(GEMINI_CONFIG, config)
    assert not set(kinds(channel)) & set(STEPS)
    assert asked(channel.emulator) == (0, 0)


def test_resolve_says_in_one_line_when_nothing_is_promoted(channel: Repo) -> None:
    result = channel.run("resolve", NAME)
    assert result.code == 1
    assert result.err.strip().splitlines() == [
        "reconcile: bigquery-gemini: nothing is promoted to any channel"]
    run_and_finish(channel)
    apply_ok(channel)
    assert channel.run("resolve", NAME, "--channel", "staging").code == 1
    assert channel.run("resolve", "other", "--channel", "production").code == 1
    text = channel.run("resolve", NAME)
    assert text.code == 0
    # The service names resources by the project's number.
    assert (f"endpoint: projects/{project_number('tuneops-local')}/locations/us-central1/"
            "endpoints/") in text.out


@pytest.mark.parametrize(("edit", "message"), [
    (("evaluation:\n  dataset_uri: datasets/bigquery-gemini-eval.jsonl\n  metric: rouge_l\n",
      ""), "promotion needs evaluation"),
    (("metric: rouge_l", "metric: rouge_2"), "evaluation.metric"),
    (("channel: production", "channel: Production"), "promotion.channel"),
    ((f"dataset_uri: {EVAL}", "dataset_uri: datasets/missing.jsonl"),
     "evaluation.dataset_uri"),
], ids=["promotion-without-evaluation", "metric", "channel", "missing-dataset"])
def test_bad_evaluation_settings_are_one_line_errors_at_their_key(
        channel: Repo, edit: tuple[str, str], message: str) -> None:
    channel.edit(GEMINI_CONFIG, *edit)
    result = channel.run("validate")
    assert result.code == 1
    (line, *_) = result.err.splitlines()
    assert line.startswith("configs/bigquery-gemini.yaml:") and message in line, result.err


def test_a_channel_belongs_to_one_job_and_a_pipeline_cannot_be_evaluated(
        channel: Repo) -> None:
    text = (channel.root / GEMINI_CONFIG).read_text()
    channel.write("configs/copy.yaml", text.replace(f"name: {NAME}", "name: copy"))
    result = channel.run("validate")
    assert result.code == 1
    assert "channel production is already promoted to by bigquery-gemini" in result.err
    (channel.root / "configs/copy.yaml").unlink()
    channel.write("configs/snippets.yaml", (EXAMPLES / "configs/bigquery-snippets.yaml")
                  .read_text() + EVALUATION)
    result = channel.run("validate")
    assert result.code == 1
    assert "jobs of kind pipeline cannot be evaluated or promoted" in result.err


def test_an_evaluation_dataset_that_leaks_training_examples_warns(channel: Repo) -> None:
    channel.edit(GEMINI_CONFIG, f"dataset_uri: {EVAL}",
                 "dataset_uri: datasets/bigquery-gemini.jsonl")
    result = channel.run("validate")
    assert result.code == 0
    assert "also appear in the training set" in result.err + result.out


def test_validate_imports_no_prediction_or_evaluation_client(channel: Repo) -> None:
    code = ("import sys; from reconciler.cli import main; main(['validate', '--root', "
            f"{str(channel.root)!r}]); print(sorted(m for m in sys.modules if "
            "'prediction_service' in m or 'evaluation_service' in m or 'rouge' in m "
            "or 'sacrebleu' in m or 'rapidfuzz' in m))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False, cwd=channel.root)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


@pytest.fixture
def served(channel: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[tuple[Repo, Storage]]:
    """The channel repository against a standalone emulator several processes share."""
    with start_emulator(tmp_path / "shared", job_seconds=3600) as emulator:
        monkeypatch.setenv("TUNEOPS_API_ENDPOINT", emulator.api_endpoint)
        monkeypatch.setenv("TUNEOPS_STORAGE_ENDPOINT", emulator.storage_endpoint)
        channel.service = emulator.store
        storage = Storage.connect("tuneops-local", emulator.storage_endpoint)
        storage.ensure_bucket(STAGING)
        yield channel, storage


def test_racing_applies_promote_exactly_once(served: tuple[Repo, Storage]) -> None:
    repo, storage = served
    assert repo.run("apply").code == 0
    assert repo.service is not None
    repo.service.advance_clock(7200)
    command = [sys.executable, "-m", "reconciler", "apply", "--root", str(repo.root)]
    running = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(4)]
    results = [(process.communicate(timeout=300), process.returncode) for process in running]
    assert all(code == 0 for _, code in results), results
    pointer = storage.read_lease(POINTER)
    assert pointer is not None
    (job,) = TuningJobs(repo.service).all()
    assert pointer.body["current"]["job"] == job.name
    assert pointer.body["history"] == []  # moved once: from nothing to this run
    moved = sum("→ production" in out and "another apply" not in out
                for (out, _), _ in results)
    assert moved <= 1


def test_racing_moves_of_one_pointer_leave_one_winner(served: tuple[Repo, Storage]) -> None:
    _, storage = served
    pointers = ChannelPointers(storage, f"{STAGING}/records/tuneops-local")

    def candidate(index: int) -> Promoted:
        run = RunKey("us-central1", "tuning-job", NAME, f"{index:040d}", 1)
        return Promoted(channel="production", run=run, job=f"job-{index}",
                        model=f"model-{index}", endpoint=f"endpoint-{index}", name=NAME,
                        score=0.5, scoring=Scoring("d" * 40, "rouge_l"))

    found: list[object] = []
    threads = [threading.Thread(target=lambda i=i: found.append(
        pointers.move("production", None, candidate(i)))) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [move for move in found if move.moved]  # type: ignore[attr-defined]
    assert len(winners) == 1
    assert {move.now.run for move in found} == {winners[0].now.run}  # type: ignore[attr-defined]


def test_a_run_a_channel_points_to_is_never_cancelled(served: tuple[Repo, Storage]) -> None:
    repo, storage = served
    assert repo.run("apply").code == 0
    (job,) = TuningJobs(repo.service).all()  # type: ignore[arg-type]
    repo.edit(GEMINI_CONFIG, "epoch_count: 3", "epoch_count: 4")
    retune = next(a for a in plan_actions(repo) if a["action"] == "retune")
    assert retune["cancel"] == [job.name]  # a superseded run, still running
    fingerprint = job.labels["tuneops-fingerprint"]
    promoted = Promoted(channel="production",
                        run=RunKey("us-central1", "tuning-job", NAME, fingerprint, 1),
                        job=job.name, model="projects/p/locations/us-central1/models/1",
                        endpoint="", name=NAME, score=None, scoring=Scoring("x", "rouge_l"))
    ChannelPointers(storage, f"{STAGING}/records/tuneops-local").move(
        "production", None, promoted)
    retune = next(a for a in plan_actions(repo) if a["action"] == "retune")
    assert retune["cancel"] == []
    assert repo.run("apply").code == 0
    states = {j.name: j.state.name for j in TuningJobs(repo.service).all()}  # type: ignore[arg-type]
    assert states[job.name] in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING")


def test_a_saved_plan_that_evaluates_applies_exactly(channel: Repo, tmp_path: Path) -> None:
    run_and_finish(channel)
    assert channel.run("plan", "--detailed-exitcode").code == 2  # a run waits for its score
    saved = tmp_path / "plan.json"
    assert channel.run("plan", "--out", str(saved)).code == 0
    result = channel.run("apply", str(saved))
    assert result.code == 0, result.out
    assert "promoted" in result.out
    # Scores and channels are observed state: the same file is stale now.
    stale = channel.run("apply", str(saved))
    assert stale.code == 1 and "plan is stale" in stale.err


def test_a_score_another_apply_recorded_is_taken_not_paid_for_again(
        served: tuple[Repo, Storage]) -> None:
    repo, storage = served
    assert repo.run("apply").code == 0
    assert repo.service is not None
    repo.service.advance_clock(7200)
    config = load_config(repo.root)
    with connect(config.target, repo.root) as connection:
        desired = build_desired(config, connection.storage)
        planned = make_plan(desired, connection, root=repo.root, retry_failed=False)
        evaluate = next(a for a in planned.actions if isinstance(a, Evaluate))
        # Another apply records this run's score between this plan and its apply.
        recorded = connection.backend.records.record_score(
            evaluate.candidate.key, evaluate.evaluation.scoring, 0.9, 12)
        repo.service.reset_calls()
        outcomes = apply(planned, connection.backend, connection.storage, repo.root)
    assert recorded == 0.9
    (outcome,) = outcomes
    assert outcome.result == "promoted", outcome
    assert "rouge_l 0.9" in outcome.detail
    assert repo.service.calls().get("GenerateContent", 0) == 0
    assert resolve(repo)["score"] == 0.9
    assert storage.read_lease(POINTER) is not None


def _another_job(repo: Repo) -> None:
    """`other`: the same Gemini job under another name, with no evaluation."""
    config = (repo.root / GEMINI_CONFIG).read_text()
    repo.write("configs/other.yaml", config.replace(f"name: {NAME}", "name: other")
               .split("\nevaluation:")[0] + "\n")
    repo.commit("another job")


@pytest.fixture
def held(channel: Repo) -> Repo:
    """A first run promoted to production, a second tuned on unrelated data and held."""
    run_and_finish(channel)
    apply_ok(channel)
    channel.edit(GEMINI_CONFIG, TRAINING, f"training_dataset_uri: {SOUP}")
    channel.commit("soup")
    run_and_finish(channel)
    assert "held" in apply_ok(channel)
    return channel


@pytest.mark.parametrize("columns", [60, 100])
def test_status_marks_the_promoted_run_and_shows_each_score_at_any_width(
        held: Repo, columns: int) -> None:
    code, lines = run_on_terminal(reconcile(held, "status"), columns)
    assert code == 0, lines
    assert all(len(line) <= columns for line in lines), lines
    text = "\n".join(lines)
    observed = json.loads(held.run("status", "--output", "json").out)
    promoted = next(c["job_id"] for c in observed["channels"] if c["channel"] == "production")
    newest = next(j["job_id"] for j in observed["jobs"] if j["current"])
    assert newest != promoted  # the current run is not the promoted one: both are marked
    # The promoted run says so, on its line or (narrow) beneath its id; every score has a
    # line of its own beneath its run.
    marked = re.search(rf"^    {promoted}(  |\n      )succeeded[^\n]*(\n +)?[^\n]*promoted "
                       "to production", text, re.M)
    assert marked, text
    for score in observed["scores"]:
        shown = (f"      score: {score['metric']} {score_text(score['score'])} on evaluation "
                 f"data {score['evaluation_dataset'][:12]}")
        assert shown in lines, (shown, text)


def test_status_of_one_name_shows_its_scores_and_its_channel(held: Repo) -> None:
    _another_job(held)
    run_and_finish(held)
    result = held.run("status", NAME)
    assert result.code == 0, result.err
    assert result.out.count("score: rouge_l ") == 2
    assert "promoted to production" in result.out
    assert "other" not in result.out
    one = json.loads(held.run("status", "other", "--output", "json").out)
    assert one["channels"] == [] and one["scores"] == []  # none of its runs'
    mine = json.loads(held.run("status", NAME, "--output", "json").out)
    assert [c["channel"] for c in mine["channels"]] == ["production"]
    assert len(mine["scores"]) == 2


def test_target_takes_a_jobs_evaluation_with_it(channel: Repo) -> None:
    _another_job(channel)
    run_and_finish(channel)
    assert [(a["name"], a["action"]) for a in plan_actions(channel, "--target", NAME)] == [
        (NAME, "noop"), (NAME, "evaluate")]
    assert [(a["name"], a["action"]) for a in plan_actions(channel, "--target", "other")] == [
        ("other", "noop")]
    channel.emulator.reset_calls()
    # The other job's evaluation is left out: nothing to do for `other`.
    assert "No changes. Nothing launched." in channel.run("apply", "--target", "other").out
    assert asked(channel.emulator) == (0, 0)
    applied = channel.run("apply", "--target", NAME)
    assert applied.code == 0 and "promoted" in applied.out, applied.out


def undeploy(store: EmulatorStore, endpoint: str) -> None:
    """The run's endpoint serves nothing any more, as if undeployed outside tuneops."""
    endpoints = Endpoints(store)
    (deployed,) = endpoints.get(endpoint).deployed_models
    endpoints.undeploy(endpoint, deployed.id)


def test_apply_names_a_failed_evaluation_in_its_exit_reason(channel: Repo) -> None:
    run_and_finish(channel)
    (job,) = TuningJobs(channel.emulator).all()
    undeploy(channel.emulator, job.tuned_model.endpoint)
    result = channel.run("apply")
    assert result.code == 1
    assert result.out.rstrip().splitlines()[-1] == (
        f"Exit code 1: 1 evaluation(s) failed: {NAME}.")
    assert channel.run("resolve", NAME).code == 1  # nothing promoted


def test_a_channel_moved_after_the_scores_is_a_failed_promotion(channel: Repo) -> None:
    run_and_finish(channel)
    config = load_config(channel.root)
    with connect(config.target, channel.root) as connection:
        desired = build_desired(config, connection.storage)
        planned = make_plan(desired, connection, root=channel.root, retry_failed=False)
        evaluate = next(a for a in planned.actions if isinstance(a, Evaluate))
        # Another apply moves the channel between this plan and its promotion.
        elsewhere = Promoted(channel="production", run=RunKey(
            "us-central1", "tuning-job", NAME, "f" * 40, 1), job="j", model="m",
            endpoint="e", name=NAME, score=0.99, scoring=evaluate.evaluation.scoring)
        connection.backend.channels.move("production", None, elsewhere)
        outcomes = apply(planned, connection.backend, connection.storage, channel.root)
        recorded = connection.backend.records.read_score(evaluate.candidate.key,
                                                         evaluate.evaluation.scoring)
    (outcome,) = [o for o in outcomes if o.name == NAME and not o.ok]
    assert outcome.action == "promote" and "moved since the plan" in outcome.detail
    assert recorded is not None  # the score was made and kept: only the promotion failed
    assert failure_reasons(failures(outcomes, queued="cancel(s)")) == [
        f"1 promotion(s) failed: {NAME}"]


def test_show_renders_a_saved_plans_evaluation_and_its_hold(held: Repo, tmp_path: Path
                                                              ) -> None:
    saved = tmp_path / "plan.json"
    assert held.run("plan", "--out", str(saved)).code == 0
    planned = held.run("plan")
    shown = held.run("show", str(saved))
    assert shown.code == 0, shown.err
    # The same plan lines as `plan` printed, below the line naming the file.
    assert shown.out.split("\n\n", 1)[1] == planned.out.split("\n\n", 1)[1]
    assert "= hold     bigquery-gemini" in shown.out
    assert "production now: run " in shown.out
    markdown = held.run("show", str(saved), "--output", "markdown").out
    assert markdown == held.run("plan", "--output", "markdown").out
    assert "| ✋ | `bigquery-gemini` | hold |" in markdown
    data = json.loads(held.run("show", str(saved), "--output", "json").out)
    assert [a["action"] for a in data["actions"]] == ["noop", "hold"]
    assert data["actions"][1]["promotion"]["channel"] == "production"


def test_a_creates_block_shows_its_evaluation_and_promotion(channel: Repo) -> None:
    text = channel.run("plan").out
    block = [line.strip() for line in text.splitlines() if line.strip().startswith("+ ")]
    assert any(re.fullmatch(rf'\+ evaluation\.dataset_uri +\= "{EVAL}"  # 12 examples, ≈ .+ '
                            "tokens", line) for line in block), block
    assert any(re.fullmatch(r'\+ promotion\.channel +\= "production"', line)
               for line in block), block
    assert any(re.fullmatch(r"\+ promotion\.min_score +\= \(none\)", line)
               for line in block), block
    assert "after the run: will be promoted to production once evaluated on rouge_l" in text
