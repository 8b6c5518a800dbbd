"""The promotion rule, pure: what promotes, what holds, and what a reviewer is told."""

from __future__ import annotations

import pytest

from reconciler.core.channels import Evaluations, Scoring, score_text
from reconciler.core.estimate import Estimate
from reconciler.core.observed import JobState, ObservedJob, ObservedModel, RunOutputs
from reconciler.core.runkey import RunKey
from reconciler.output import escape
from reconciler.output.markdown import BODY_BYTES, render
from reconciler.plan.actions import (
    Action,
    Evaluate,
    EvaluationSet,
    Hold,
    PromotionRule,
    ScoredRun,
)
from reconciler.plan.planner import Plan
from reconciler.plan.promotion import after_run, decide, scored


def run(attempt: int, score: float | None = None) -> ScoredRun:
    key = RunKey("us-central1", "tuning-job", "sql", f"{attempt:040d}", 1)
    return ScoredRun(key, f"job-{attempt}", f"jobs/{attempt}", f"models/{attempt}",
                     f"endpoints/{attempt}", score)


def rule(current: ScoredRun | None = None, *, min_score: float | None = None,
         must_beat_current: bool = True, rollback: bool = False) -> PromotionRule:
    return PromotionRule(channel="production", metric="rouge_l", min_score=min_score,
                         must_beat_current=must_beat_current, current=current,
                         rollback=rollback)


@pytest.mark.parametrize(("score", "given", "current_score", "promoted", "why"), [
    (0.1, rule(), None, True, "production has no run yet"),
    (0.1, rule(min_score=0.35), None, False, "rouge_l 0.1 < min_score 0.35"),
    (0.61, rule(run(2, 0.58)), 0.58, True, "rouge_l 0.61 ≥ 0.58 of the current run job-2"),
    (0.58, rule(run(2, 0.58)), 0.58, True, "≥ 0.58"),
    (0.55, rule(run(2, 0.58)), 0.58, False, "rouge_l 0.55 < 0.58 of the current run job-2"),
    (0.55, rule(run(2, 0.58), must_beat_current=False), 0.58, True, "must_beat_current"),
    (0.55, rule(run(2, 0.58), rollback=True), 0.58, True, "a rollback"),
    (0.2, rule(run(2, 0.58), rollback=True, min_score=0.3), 0.58, False, "min_score"),
    (0.55, rule(run(2)), None, True, "cannot be scored"),
], ids=["empty-channel", "below-floor", "beats", "ties", "worse", "no-comparison",
        "rollback", "rollback-below-floor", "current-gone"])
def test_decide(score: float, given: PromotionRule, current_score: float | None,
                promoted: bool, why: str) -> None:
    found, reason = decide(score, given, current_score)
    assert found is promoted
    assert why in reason


@pytest.mark.parametrize(("given", "said"), [
    (rule(run(2, 0.58)), "will be promoted to production if rouge_l ≥ 0.58 (the current "
                         "run's score)"),
    (rule(run(2, 0.58), min_score=0.7), "if rouge_l ≥ 0.7 (min_score)"),
    (rule(run(2)), "if it scores at least the current run job-2 on rouge_l (which is scored "
                   "on this evaluation dataset first)"),
    (rule(min_score=0.35), "will be promoted to production if rouge_l ≥ 0.35 (min_score)"),
    (rule(), "will be promoted to production once evaluated on rouge_l"),
])
def test_after_run_says_what_a_reviewer_needs(given: PromotionRule, said: str) -> None:
    assert said in after_run(given)


PARENT = "projects/801452371447/locations/us-central1"


@pytest.mark.parametrize(("outputs", "answering"), [
    (RunOutputs(model=f"{PARENT}/models/1@1", endpoint=f"{PARENT}/endpoints/2",
                checkpoint_endpoints=(f"{PARENT}/endpoints/3", f"{PARENT}/endpoints/2")),
     f"{PARENT}/endpoints/2"),
    (RunOutputs(model=f"{PARENT}/models/1@1"), ""),
    (None, ""),
], ids=["default-checkpoint", "names-none", "outputs-unknown"])
def test_a_run_is_asked_only_through_an_endpoint_its_outputs_name(
        outputs: RunOutputs | None, answering: str) -> None:
    """Every checkpoint's endpoint is the run's own, and the default checkpoint's answers
    for it; an endpoint someone else deployed its Model to is never asked, nor resolved."""
    job = ObservedJob(kind="tuning-job", job_id="7", resource=f"{PARENT}/tuningJobs/7",
                      name="sql", fingerprint="f" * 40, state=JobState.SUCCEEDED,
                      create_time="", inputs={}, metadata={}, outputs=outputs)
    deployed = ObservedModel(resource=f"{PARENT}/models/1", name="sql", fingerprint="f" * 40,
                             display_name="sql", description="", labels={},
                             endpoints=(f"{PARENT}/endpoints/9",))  # another team's
    found = scored(job, deployed, Evaluations(), Scoring("d" * 40, "rouge_l"))
    assert (found.endpoint, found.model) == (answering, deployed.resource)


def test_scores_read_at_a_glance() -> None:
    assert [score_text(s) for s in (0.6123, 0.58, 1.0, 0.0, None)] == [
        "0.612", "0.58", "1", "0", "not scored"]


def test_the_comment_for_2000_evaluated_jobs_fits_in_bytes_in_whole_blocks() -> None:
    """Evaluation lines are of the comment's blocks: cut whole, within the one byte limit
    (their `≥` and `→` are three bytes each)."""
    evaluation = EvaluationSet(uri="datasets/sql-eval.jsonl", content_hash="c" * 40,
                               source="datasets/sql-eval.jsonl", staged="gs://b/c",
                               examples=120, metric="rouge_l")
    actions: list[Action] = []
    for index in range(2000):
        name = f"job-{index:04d}"
        candidate = run(index + 1, 0.61)
        given = rule(run(index + 5000, 0.58))
        actions += [Hold(name=name, reason=f"run {candidate.job_id} held (rouge_l 0.55 < 0.58 "
                         f"of the current run); production stays on run job-{index + 5000}",
                         job_id=candidate.job_id, evaluation=evaluation, candidate=candidate,
                         promotion=given),
                    Evaluate(name=name, reason="scores a run", job_id=candidate.job_id,
                             evaluation=evaluation, candidate=candidate, runs=(candidate,),
                             promotion=given, estimate=Estimate(prediction_tokens=4_000,
                                                                dollars=0.02))]
    text = render(Plan(actions=tuple(actions), warnings=(), desired_digest="d",
                       observed_digest="o"))
    assert len(text.encode()) <= BODY_BYTES
    assert "more jobs not listed to fit GitHub's comment limit" in text
    assert "more jobs are left out to fit GitHub's comment limit" in text
    assert text.count("<details>") == text.count("</details>") > 0
    assert escape.markdown("Then: will be promoted to production if rouge_l ≥ 0.58") in text
    assert text.rstrip().endswith("`reconcile plan` shows it locally.")
