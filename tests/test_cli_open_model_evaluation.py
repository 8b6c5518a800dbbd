"""Open-model runs evaluated and promoted like Gemini's, end to end: the real CLI and the
PredictionServiceClient's Predict (the serving container's instances, not GenerateContent)
and EvaluationServiceClient against the emulator."""

from __future__ import annotations

import json

import pytest

from reconciler.emulator import EmulatorStore
from reconciler.emulator.models import Models
from reconciler.emulator.open_models import OpenModelTuningJobs
from tests.conftest import OPEN_MODEL_CONFIG, Repo, git
from tests.test_cli_evaluation import undeploy

NAME = "bigquery-llama"
EVAL = "datasets/bigquery-llama-eval.jsonl"
SOUP = "datasets/soup-llama.jsonl"
TRAINING = "training_dataset_uri: datasets/bigquery-llama.jsonl"
EVALUATION = f"""
evaluation:
  dataset_uri: {EVAL}
  metric: rouge_l
promotion:
  channel: llama-production
"""


def _soup(count: int) -> str:
    return "".join(json.dumps({"messages": [
        {"role": "user", "content": f"Give me recipe number {n} for a vegetable soup"},
        {"role": "assistant", "content": f"Chop {n + 2} carrots and an onion, simmer them "
                                         f"for {10 + n} minutes."}]}) + "\n"
                   for n in range(count))


def _evaluation_examples(repo: Repo) -> str:
    """Chat examples of the training data's own prompts, reworded, and one instruction
    example: both formats are asked."""
    lines = (repo.root / "datasets/bigquery-llama.jsonl").read_text().splitlines()[:5]
    chats = [json.loads(line) for line in lines]
    for chat in chats:
        chat["messages"][1]["content"] = chat["messages"][1]["content"].lower()
    instruction = {"prompt": chats[0]["messages"][1]["content"],
                   "completion": chats[0]["messages"][2]["content"]}
    return "".join(json.dumps(example) + "\n" for example in [*chats, instruction])


@pytest.fixture
def channel(llama: Repo) -> Repo:
    llama.write(EVAL, _evaluation_examples(llama))
    llama.write(SOUP, _soup(12))
    with (llama.root / OPEN_MODEL_CONFIG).open("a") as config:
        config.write(EVALUATION)
    llama.commit("evaluate and promote the open model")
    return llama


def plan_actions(repo: Repo) -> list[dict[str, object]]:
    result = repo.run("plan", "--output", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)["actions"]  # type: ignore[no-any-return]


def step(repo: Repo) -> dict[str, object] | None:
    return next((a for a in plan_actions(repo) if a["action"] in ("evaluate", "promote",
                                                                   "hold")), None)


def resolve(repo: Repo) -> dict[str, object]:
    result = repo.run("resolve", NAME, "--channel", "llama-production", "--output", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)  # type: ignore[no-any-return]


def apply_ok(repo: Repo) -> str:
    result = repo.run("apply")
    assert result.code == 0, (result.out, result.err)
    return result.out


def asked(store: EmulatorStore) -> tuple[int, int, int]:
    calls = store.calls()
    return (calls.get("Predict", 0), calls.get("GenerateContent", 0),
            calls.get("EvaluateInstances", 0))


def test_an_open_models_first_run_is_asked_through_predict_and_promoted(channel: Repo
                                                                        ) -> None:
    apply_ok(channel)
    channel.advance()
    (job,) = OpenModelTuningJobs(channel.emulator).all()
    evaluate = step(channel)
    assert evaluate is not None and evaluate["action"] == "evaluate", evaluate
    # A deployed open model is billed by machine hour: no per-token price unless set.
    assert "no prediction price for meta/llama3_1@llama-3.1-8b-instruct" in str(
        evaluate["estimate"]["unknown"])
    channel.emulator.reset_calls()
    out = apply_ok(channel)
    assert "promoted" in out and "→ llama-production" in out
    assert asked(channel.emulator) == (6, 0, 1)  # each example once, through Predict
    resolved = resolve(channel)
    assert resolved["job"] == job.name
    assert resolved["endpoint"] == job.tuned_model.endpoint
    assert resolved["score"] > 0.9  # its own training data's answers, asked again
    assert [a["action"] for a in plan_actions(channel)] == ["noop"]


def test_a_run_on_unrelated_data_is_held_and_a_revert_costs_nothing(channel: Repo) -> None:
    apply_ok(channel)
    channel.advance()
    apply_ok(channel)
    first = resolve(channel)
    channel.edit(OPEN_MODEL_CONFIG, TRAINING, f"training_dataset_uri: {SOUP}")
    channel.commit("tune on soup")
    apply_ok(channel)
    channel.advance()
    out = apply_ok(channel)
    assert "held" in out and "llama-production stays on run" in out
    assert resolve(channel) == first
    git(channel.root, "revert", "--no-edit", "HEAD")
    channel.emulator.reset_calls()
    assert [a["action"] for a in plan_actions(channel)] == ["noop"]
    apply_ok(channel)
    assert asked(channel.emulator) == (0, 0, 0)
    assert len(OpenModelTuningJobs(channel.emulator).all()) == 2
    assert resolve(channel) == first


def test_a_price_under_prediction_prices_prices_the_evaluation(channel: Repo) -> None:
    apply_ok(channel)
    channel.advance()
    settings = (channel.root / "configs/reconciler.yaml").read_text()
    channel.write("configs/reconciler.yaml", settings + "prediction_prices:\n"
                  "  meta/llama3_1@llama-3.1-8b-instruct: 100\n")
    evaluate = step(channel)
    assert evaluate is not None
    estimate = evaluate["estimate"]
    assert estimate["prediction_tokens"] > 0 and estimate["dollars"] > 0
    assert not estimate.get("unknown")


def test_a_run_whose_endpoint_serves_nothing_fails_in_one_line_and_no_other_is_asked(
        channel: Repo) -> None:
    apply_ok(channel)
    channel.advance()
    (job,) = OpenModelTuningJobs(channel.emulator).all()
    # The Model undeployed outside tuneops (as a team saving the endpoint's machine hours).
    undeploy(channel.emulator, job.tuned_model.endpoint)
    result = channel.run("apply")
    assert result.code == 1
    assert "1 evaluation(s) failed: bigquery-llama" in result.out
    assert "has no deployed model" in result.out
    assert "Traceback" not in result.err
    # Deployed again by hand, to an endpoint of the team's own: a run is asked only through
    # the endpoint its outputs name, never one tuneops did not create.
    (model,) = [m.name for m in Models(channel.emulator).all()]
    Models(channel.emulator).deploy_outside(model)
    again = channel.run("apply")
    assert again.code == 1 and "has no deployed model" in again.out
