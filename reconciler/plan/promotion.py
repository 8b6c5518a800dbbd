"""PURE: what a job's `evaluation:` and `promotion:` plan for its runs.

After a run succeeds it is evaluated once per evaluation dataset and metric (`evaluate`);
with a channel, the scores then decide `promote` or `hold` by the rule: at least
`min_score`, and (with `must_beat_current`, the default) at least the channel's current
run on the same data. A run the channel had before is a rollback (`git revert`): promoted
without comparing, at no cost once its score exists. When the dataset changed since the
current run was scored, both are scored on the new one before comparing.

The same `decide` runs here, on recorded scores, and in apply, on scores it just made: a
rule is resolved when planning and never re-planned.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

from reconciler.core.channels import Evaluations, Promoted, Scoring, score_text
from reconciler.core.desired import Desired, DesiredJob
from reconciler.core.estimate import Estimate
from reconciler.core.identity import key_of
from reconciler.core.observed import ObservedJob, ObservedModel
from reconciler.core.resources import id_of, parse
from reconciler.kinds import kind_of
from reconciler.kinds.base import staged_uri
from reconciler.plan.actions import (
    Action,
    AfterRun,
    DriftRestore,
    Evaluate,
    EvaluationSet,
    Hold,
    Noop,
    Promote,
    PromotionRule,
    Rename,
    ScoredRun,
    Update,
)

# The tuning actions after which a job's run and Model exist as desired: it can be scored.
_SETTLED = Noop | Update | DriftRestore | Rename


def evaluation_set(job: DesiredJob, staging_bucket: str) -> EvaluationSet:
    assert job.evaluation is not None
    dataset = job.evaluation.dataset
    local = dataset.path is not None
    return EvaluationSet(
        uri=dataset.uri, content_hash=dataset.content_hash, source=dataset.path,
        staged=staged_uri(staging_bucket, dataset.content_hash) if local else dataset.uri,
        examples=dataset.examples, metric=job.evaluation.metric)


def scored(run: ObservedJob, model: ObservedModel, evaluations: Evaluations,
           scoring: Scoring) -> ScoredRun:
    """A succeeded run with its Model, answered for by the endpoint the run's outputs name
    (a TuningJob's tuned_model.endpoint: the default checkpoint's). Never another endpoint
    the Model is deployed to: one the run did not create is not tuneops' (prune never
    touches one either), so no channel resolves to it and no evaluation is paid on it;
    with none ("") the run is not asked."""
    key = key_of(run)
    return ScoredRun(key, run.job_id, run.resource, model.resource, run.endpoint,
                     evaluations.score(key, scoring))


def _current(now: Promoted, evaluations: Evaluations, scoring: Scoring,
             models: Mapping[str, ObservedModel]) -> ScoredRun:
    # A current run whose Model is gone cannot answer: no endpoint, so it is never asked.
    answering = now.endpoint if parse(now.model).unversioned in models else ""
    return ScoredRun(now.run, id_of(now.job), now.job, now.model, answering,
                     evaluations.score(now.run, scoring))


def rule(job: DesiredJob, evaluations: Evaluations, models: Mapping[str, ObservedModel],
         candidate: ScoredRun | None = None) -> PromotionRule | None:
    """The job's promotion rule as things stand; None without a channel."""
    evaluation = job.evaluation
    if evaluation is None or evaluation.promotion is None:
        return None
    promotion = evaluation.promotion
    scoring = Scoring(evaluation.dataset.content_hash, evaluation.metric)
    now = evaluations.channels.get(promotion.channel)
    return PromotionRule(
        channel=promotion.channel, metric=evaluation.metric, min_score=promotion.min_score,
        must_beat_current=promotion.must_beat_current,
        current=None if now is None else _current(now, evaluations, scoring, models),
        rollback=candidate is not None and evaluations.ever_promoted(candidate.key,
                                                                     promotion.channel))


def compares_with_current(rule: PromotionRule, candidate: ScoredRun) -> bool:
    """Whether deciding needs the current run's score on this dataset."""
    current = rule.current
    return (current is not None and current.key != candidate.key and rule.must_beat_current
            and not rule.rollback)


def decide(score: float, rule: PromotionRule, current_score: float | None
           ) -> tuple[bool, str]:
    """Whether a candidate scoring `score` is promoted (the current run scoring
    `current_score` on the same data), and why, in words."""
    metric, current = rule.metric, rule.current
    if rule.min_score is not None and score < rule.min_score:
        return False, (f"{metric} {score_text(score)} < min_score "
                       f"{score_text(rule.min_score)}")
    if current is None:
        return True, f"{rule.channel} has no run yet"
    if rule.rollback:
        return True, f"a rollback: {rule.channel} had this run before"
    if not rule.must_beat_current:
        return True, "must_beat_current is false"
    if current_score is None:
        return True, (f"the current run {current.job_id} cannot be scored on this dataset "
                      "(its Model or Endpoint is gone)")
    if score >= current_score:
        return True, (f"{metric} {score_text(score)} ≥ {score_text(current_score)} of the "
                      f"current run {current.job_id}")
    return False, (f"{metric} {score_text(score)} < {score_text(current_score)} of the "
                   f"current run {current.job_id}")


def promoted_text(candidate: ScoredRun, score: float, rule: PromotionRule) -> str:
    """"→ production: run 7028…, rouge_l 0.61, replaces run 6512…, 0.58"."""
    text = f"→ {rule.channel}: run {candidate.job_id}, {rule.metric} {score_text(score)}"
    current = rule.current
    if current is not None and current.key != candidate.key:
        text += f", replaces run {current.job_id}, {score_text(current.score)}"
    return text


def held_text(candidate: ScoredRun, score: float, rule: PromotionRule, why: str) -> str:
    """"run 7028… scored 0.55 < 0.58 of ...; production stays on run 6512…"."""
    where = (f"{rule.channel} stays on run {rule.current.job_id}" if rule.current
             else f"{rule.channel} stays empty")
    return f"run {candidate.job_id} held ({why}); {where}"


def after_run(rule: PromotionRule) -> str:
    """What happens once a launched run succeeds, for the pull request's reviewer: "will be
    promoted to production if rouge_l ≥ 0.58 (the current run's score)"."""
    floor = rule.min_score
    current = rule.current
    head = f"will be promoted to {rule.channel}"
    if current is not None and rule.must_beat_current:
        if current.score is None:
            text = (f"{head} if it scores at least the current run {current.job_id} on "
                    f"{rule.metric} (which is scored on this evaluation dataset first)")
            return text + (f" and {rule.metric} ≥ {score_text(floor)} (min_score)"
                           if floor is not None else "")
        if floor is None or current.score >= floor:
            return (f"{head} if {rule.metric} ≥ {score_text(current.score)} (the current "
                    "run's score)")
    if floor is not None:
        return f"{head} if {rule.metric} ≥ {score_text(floor)} (min_score)"
    return f"{head} once evaluated on {rule.metric}"


def estimate(job: DesiredJob, runs: int, prices: Mapping[str, float]) -> Estimate:
    """Paid inference: every example of the evaluation dataset sent to each run, its tokens
    all priced as output tokens (an upper bound), never guessed where unknown."""
    assert job.evaluation is not None
    evaluator = kind_of(job.kind).evaluator
    assert evaluator is not None
    model, price = evaluator.price(job.spec, prices)
    per_run = job.evaluation.dataset.tokens
    unknown = [reason for missing, reason in (
        (per_run is None, "a gs:// evaluation dataset's tokens are counted by the service "
                          "only"),
        (price is None, f"no prediction price for {model} (set it under prediction_prices:)"),
    ) if missing]
    tokens = None if per_run is None else per_run * runs
    # Rounded up to the cent: a small evaluation costs something, never $0.00.
    dollars = (math.ceil(tokens / 1e6 * price * 100) / 100
               if tokens is not None and price is not None else None)
    return Estimate(prediction_tokens=tokens, dollars=dollars, unknown="; ".join(unknown))


def step(job: DesiredJob, tuning: Action, candidate: ScoredRun | None, *, desired: Desired,
         evaluations: Evaluations, models: Mapping[str, ObservedModel]) -> Action | None:
    """The job's evaluation action after `tuning`, its tuning action: evaluate, promote or
    hold; None when there is nothing to do (or nothing to score yet)."""
    if job.evaluation is None or candidate is None or not isinstance(tuning, _SETTLED):
        return None
    evaluation = evaluation_set(job, desired.target.staging_bucket)
    promotion = rule(job, evaluations, models, candidate)
    runs = [candidate] if candidate.score is None else []
    if promotion is not None and promotion.current is not None and compares_with_current(
            promotion, candidate):
        current = promotion.current
        if current.score is None and current.endpoint:
            runs.append(current)
    if runs:
        what = ", ".join(f"run {run.job_id}" for run in runs)
        reason = (f"scores {what} on {evaluation.metric} "
                  f"({evaluation.examples or 'the'} examples of {evaluation.uri})")
        return Evaluate(name=job.name, reason=reason, job_id=candidate.job_id,
                        evaluation=evaluation, candidate=candidate, runs=tuple(runs),
                        promotion=promotion,
                        estimate=estimate(job, len(runs), desired.prediction_prices))
    if promotion is None or candidate.score is None or (
            promotion.current is not None and promotion.current.key == candidate.key):
        return None
    current_score = promotion.current.score if promotion.current else None
    promote, why = decide(candidate.score, promotion, current_score)
    if promote:
        moved = promoted_text(candidate, candidate.score, promotion)
        return Promote(name=job.name, reason=f"{moved} ({why}); nothing is tuned or evaluated",
                       job_id=candidate.job_id,
                       evaluation=evaluation, candidate=candidate, promotion=promotion)
    return Hold(name=job.name, reason=held_text(candidate, candidate.score, promotion, why),
                job_id=candidate.job_id, evaluation=evaluation, candidate=candidate,
                promotion=promotion)


def with_rule(action: Action, job: DesiredJob, evaluations: Evaluations,
              models: Mapping[str, ObservedModel]) -> Action:
    """A launching or running action of a job with a channel, carrying what happens after
    its run (shown to a reviewer before merging)."""
    found = rule(job, evaluations, models)
    if found is None or not isinstance(action, AfterRun):
        return action
    return replace(action, promotion=found)
