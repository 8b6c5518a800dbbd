"""What apply does for `evaluate` and `promote`: score runs, record the scores, move a
channel, by the rule the plan resolved (apply never re-plans).

A run is scored by sending each example's question to its endpoint (PredictionService
GenerateContent or Predict, as its kind asks, a few at a time) and the answers with their
references to EvaluationService EvaluateInstances; its score, the mean of the per-answer scores, is
recorded once per evaluation dataset and metric. A score another apply recorded first is
taken as it is, before anything is asked, so sequential applies never pay twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from reconciler.apply.staging import verified_copy
from reconciler.backends.base import Backend
from reconciler.core import labels as managed
from reconciler.core.channels import Promoted, score_text
from reconciler.core.resources import location_of
from reconciler.edges.storage import Storage
from reconciler.errors import TuneopsError
from reconciler.kinds import kind_of
from reconciler.kinds.base import Question
from reconciler.load.datasets import remote_hash
from reconciler.load.writes import scratch
from reconciler.plan.actions import Evaluate, EvaluationSet, Promote, PromotionRule, ScoredRun
from reconciler.plan.promotion import decide, held_text, promoted_text

# Questions in flight for one evaluation.
ASKING_PARALLELISM = 8

Example = tuple[Question, str]


class PromotionFailed(TuneopsError):
    """The scores are recorded; moving the channel is what failed."""


Split = Callable[[dict[str, Any]], Example]


def _split_lines(path: Path, split: Split) -> list[Example]:
    """Each line split as it is read: no example's parsed record outlives its line."""
    with path.open("rb") as lines:
        return [split(orjson.loads(line)) for line in lines if not line.isspace()]


def _read(storage: Storage, root: Path, evaluation: EvaluationSet, split: Split
          ) -> list[Example]:
    """The evaluation dataset's examples, exactly the planned content: a repository file is
    staged content-addressed first, as training data is; a gs:// object must still be the
    generation that was hashed."""
    if evaluation.source is not None:
        with verified_copy(root, evaluation.source, evaluation.content_hash) as copy:
            if not storage.exists(evaluation.staged):
                storage.upload(copy, evaluation.staged)
            return _split_lines(copy, split)
    with scratch() as directory:
        copy = directory / "evaluation.jsonl"
        before = storage.version(evaluation.uri)
        storage.download(evaluation.uri, copy)
        after = storage.version(evaluation.uri)
        if before is None or before != after or remote_hash(evaluation.uri, before) != (
                evaluation.content_hash):
            raise TuneopsError(f"{evaluation.uri} changed since it was planned; nothing was "
                               "evaluated: plan and apply again")
        return _split_lines(copy, split)


def examples(storage: Storage, root: Path, evaluation: EvaluationSet, kind: str
             ) -> list[Example]:
    evaluator = kind_of(kind).evaluator
    if evaluator is None:
        raise TuneopsError(f"jobs of kind {kind} cannot be evaluated")
    return _read(storage, root, evaluation, evaluator.split)


def _ask(backend: Backend, run: ScoredRun, found: list[Example], stop: threading.Event
         ) -> list[str]:
    def one(example: Example) -> str:
        if stop.is_set():
            raise TuneopsError("apply was interrupted; nothing was recorded")
        return backend.predictions.ask(run.endpoint, example[0])

    with ThreadPoolExecutor(max_workers=ASKING_PARALLELISM) as pool:
        return list(pool.map(one, found))


def score(backend: Backend, run: ScoredRun, evaluation: EvaluationSet, found: list[Example],
          stop: threading.Event) -> float:
    """The run's recorded score on this dataset and metric, made now if none is."""
    scoring = evaluation.scoring
    recorded = backend.records.read_score(run.key, scoring)
    if recorded is not None:
        return recorded
    if not run.endpoint:
        raise TuneopsError(f"run {run.job_id} has no endpoint to ask (its Model serves "
                           "nowhere); nothing was evaluated: deploy its Model to an endpoint "
                           "and apply again")
    answers = _ask(backend, run, found, stop)
    scores = backend.scorer.score(location_of(run.endpoint), evaluation.metric,
                                  [(answer, reference) for answer, (_, reference)
                                   in zip(answers, found, strict=True)])
    mean = sum(scores) / len(scores) if scores else 0.0
    return backend.records.record_score(run.key, scoring, mean, len(found))


def _relabel(backend: Backend, rule: PromotionRule, candidate: ScoredRun) -> str:
    """The channel's label onto the promoted Model and off the one it replaces; the record
    in the staging bucket is what decides, so a refusal here is only reported."""
    key = managed.channel_label(rule.channel)
    try:
        backend.registry.relabel(candidate.model, add={key: managed.MANAGER})
        if rule.current is not None and rule.current.model and (
                rule.current.model != candidate.model):
            backend.registry.relabel(rule.current.model, add={}, drop=(key,))
    except TuneopsError as error:
        return f"; the Models' {key} label was not moved ({error})"
    return ""


def promote(backend: Backend, name: str, candidate: ScoredRun, *, score_of: float,
            evaluation: EvaluationSet, rule: PromotionRule) -> str:
    """Moves the channel to `candidate` (compare-and-swap from the current run the plan
    saw); what happened, in words. Exactly once however many applies race."""
    new = Promoted(channel=rule.channel, run=candidate.key, job=candidate.resource,
                   model=candidate.model, endpoint=candidate.endpoint, name=name,
                   score=score_of, scoring=evaluation.scoring, since=time.time())
    expected = None if rule.current is None else rule.current.key
    moved = backend.channels.move(rule.channel, expected, new)
    if moved.now is None or moved.now.run != candidate.key:
        elsewhere = "nothing" if moved.now is None else f"run {moved.now.run.path()}"
        raise TuneopsError(f"{rule.channel} moved since the plan (it points to {elsewhere}); "
                           "nothing was promoted: plan and apply again")
    backend.records.mark_promoted(candidate.key, rule.channel)
    how = "" if moved.moved else " (another apply promoted it at the same time)"
    return promoted_text(candidate, score_of, rule) + how + _relabel(backend, rule, candidate)


def evaluate(action: Evaluate, backend: Backend, storage: Storage, root: Path,
             stop: threading.Event) -> tuple[str, str]:
    """(result, detail) of an evaluate action: scored, then promoted or held."""
    found = examples(storage, root, action.evaluation, action.candidate.key.kind)
    metric = action.evaluation.metric
    scores = {run.key: score(backend, run, action.evaluation, found, stop)
              for run in action.runs}
    details = [f"run {run.job_id}: {metric} {score_text(scores[run.key])} on {len(found)} "
               "examples" for run in action.runs]
    rule = action.promotion
    candidate = action.candidate
    mine = scores.get(candidate.key, candidate.score)
    if rule is None or mine is None:
        return "evaluated", "; ".join(details)
    current = rule.current
    if current is not None and current.key == candidate.key:
        return "evaluated", "; ".join([*details, f"{rule.channel} is on this run"])
    if current is not None:
        current = replace(current, score=scores.get(current.key, current.score))
        rule = replace(rule, current=current)
    promoted, why = decide(mine, rule, None if current is None else current.score)
    if not promoted:
        return "held", "; ".join([*details, held_text(candidate, mine, rule, why)])
    try:
        moved = promote(backend, action.name, candidate, score_of=mine,
                        evaluation=action.evaluation, rule=rule)
    except TuneopsError as error:
        raise PromotionFailed("; ".join([*details, str(error)])) from error
    return "promoted", "; ".join([*details, f"{moved} ({why})"])


def promote_action(action: Promote, backend: Backend) -> str:
    """A promotion whose scores were all recorded when planning: no inference at all."""
    assert action.candidate.score is not None
    return promote(backend, action.name, action.candidate, score_of=action.candidate.score,
                   evaluation=action.evaluation, rule=action.promotion)
