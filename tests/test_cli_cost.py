"""What a plan will spend, and the budget an apply may not exceed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.core.budget import Budget, over_budget
from reconciler.core.estimate import Estimate, describe, tokens_text, totals
from reconciler.emulator.pipelines import PipelineJobs
from reconciler.emulator.tuning_jobs import TuningJobs
from reconciler.output import escape
from tests.conftest import GEMINI_CONFIG, REFERENCE_CONFIGS, Repo, example_repo

SECOND_GEMINI = """\
kind: tuning-job
name: vision-gemini
base_model: gemini-2.5-pro
training_dataset_uri: datasets/bigquery-gemini.jsonl
epoch_count: 10
"""


@pytest.fixture
def costly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Repo:
    """Two pipeline runs and two Gemini jobs (flash and pro)."""
    repo = example_repo(tmp_path, capsys, (GEMINI_CONFIG, *REFERENCE_CONFIGS))
    repo.write("configs/vision-gemini.yaml", SECOND_GEMINI)
    repo.commit("a second gemini job")
    return repo


def _tokens(repo: Repo) -> int:
    """The example dataset's estimated tokens (UTF-8 bytes / 4 per text part)."""
    total = 0
    for line in (repo.root / "datasets/bigquery-gemini.jsonl").read_text().splitlines():
        record = json.loads(line)
        size = sum(len(part["text"].encode()) for turn in record["contents"]
                   for part in turn["parts"])
        total += -(-size // 4)
    return total


def test_every_launch_carries_an_estimate_and_the_plan_totals_them(costly: Repo) -> None:
    tokens = _tokens(costly)
    result = costly.run("plan", "--output", "json")
    data = json.loads(result.out)
    estimates = {a["name"]: a["estimate"] for a in data["actions"]}
    assert estimates["bigquery-gemini"]["training_tokens"] == tokens * 3
    assert estimates["bigquery-gemini"]["dollars"] == round(tokens * 3 / 1e6 * 5.0, 2)
    assert estimates["vision-gemini"]["dollars"] == round(tokens * 10 / 1e6 * 25.0, 2)
    assert estimates["bigquery-snippets"]["accelerators"] == "8 x A100 80 GB"
    assert estimates["bigquery-snippets"]["examples_processed"] == 300 * 8
    assert estimates["bigquery-snippets"]["dollars"] is None
    assert "accelerator-hours" in estimates["bigquery-snippets"]["unknown"]
    assert data["totals"]["launches"] == 4
    assert data["totals"]["training_tokens"] == tokens * 13
    assert data["totals"]["runs_on"] == {"8 x A100 80 GB": 2}
    text = costly.run("plan").out
    assert "estimate: on 8 x A100 80 GB, 2,400 examples processed" in text
    assert f"estimate: 3 epochs, ≈ {tokens_text(tokens * 3)} training tokens" in text
    assert "This plan launches 2 tuning jobs: ≈" in text
    assert "2 pipeline runs on 8 x A100 80 GB" in text
    markdown = costly.run("plan", "--output", "markdown").out
    assert "**This plan launches 2 tuning jobs: ≈" in markdown


def test_prices_in_settings_override_the_list_prices(costly: Repo) -> None:
    costly.edit("configs/reconciler.yaml", "region: us-central1",
                "region: us-central1\nprices: {gemini-2.5-flash: 1.0}")
    tokens = _tokens(costly)
    data = json.loads(costly.run("plan", "--output", "json").out)
    estimate = next(a["estimate"] for a in data["actions"] if a["name"] == "bigquery-gemini")
    assert estimate["dollars"] == round(tokens * 3 / 1e6, 2)


def test_what_cannot_be_known_is_said_not_guessed(costly: Repo) -> None:
    costly.edit("configs/bigquery-gemini.yaml", "epoch_count: 3\n", "")
    costly.edit("configs/vision-gemini.yaml", "gemini-2.5-pro", "gemini-9-ultra")
    data = json.loads(costly.run("plan", "--output", "json").out)
    estimates = {a["name"]: a["estimate"] for a in data["actions"]}
    assert estimates["bigquery-gemini"]["training_tokens"] is None
    assert "epochs are the service's default" in estimates["bigquery-gemini"]["unknown"]
    assert estimates["vision-gemini"]["dollars"] is None
    assert "no list price for gemini-9-ultra" in estimates["vision-gemini"]["unknown"]
    text = costly.run("plan").out
    # Neither cost is known: the total says so, never "$0.00".
    assert "2 tuning jobs: ≈" in text and "training tokens, cost unknown" in text
    assert "$0.00" not in text


def test_an_apply_over_budget_launches_nothing_and_names_the_jobs(costly: Repo) -> None:
    costly.edit("configs/reconciler.yaml", "region: us-central1",
                "region: us-central1\nbudget: {max_launches: 3}")
    plan = costly.run("plan", "--output", "markdown").out
    reason = escape.markdown("4 launches, more than budget.max_launches 3")
    assert f"⛔ **Over budget:** {reason}" in plan
    result = costly.run("apply")
    assert result.code == 1
    assert ("Over budget: 4 launches, more than budget.max_launches 3: bigquery-gemini, "
            "bigquery-snippets, cloud-vision-chat, vision-gemini") in result.out
    assert "Nothing launched" in result.out
    assert PipelineJobs(costly.emulator).all() == [] and TuningJobs(costly.emulator).all() == []
    assert costly.run("apply", "--allow-over-budget").code == 0
    assert len(TuningJobs(costly.emulator).all()) == 2


def test_max_cost_caps_one_apply(costly: Repo) -> None:
    result = costly.run("apply", "--max-cost", "0.01")
    assert result.code == 1
    assert "more than budget.max_per_apply $0.01 (bigquery-gemini $" in result.out
    assert "vision-gemini $" in result.out
    assert TuningJobs(costly.emulator).all() == []


def test_a_job_over_max_tokens_per_job_is_named() -> None:
    launches = [("small", Estimate(training_tokens=10)), ("big", Estimate(training_tokens=9_000))]
    assert over_budget(launches, Budget(max_tokens_per_job=1_000)) == (
        "big: ≈ 9 K training tokens, more than budget.max_tokens_per_job 1 K",)
    assert over_budget(launches, Budget()) == ()


def test_the_default_budget_caps_launches_at_twenty() -> None:
    launches = [(f"job-{n}", Estimate()) for n in range(21)]
    (reason,) = over_budget(launches, Budget())
    assert reason.startswith("21 launches, more than budget.max_launches 20: job-0, job-1")
    assert reason.endswith("and 11 more")


def test_totals_read_like_a_sentence() -> None:
    found = totals([Estimate(training_tokens=40_000_000, dollars=200.0),
                    Estimate(training_tokens=1_000_000, dollars=5.0),
                    Estimate(training_tokens=None, dollars=None, unknown="epochs"),
                    Estimate(accelerators="8 x A100 80 GB")])
    assert describe(found) == (
        "launches 3 tuning jobs: ≈ 41 M training tokens, ≈ $205.00 at list price (1 of them "
        "not estimable, so more); 1 pipeline run on 8 x A100 80 GB (billed by the hour; the "
        "hours are not known before the run)")
