"""What a plan says of evaluation and promotion, in sentences every renderer shows alike."""

from __future__ import annotations

from reconciler.core.channels import score_text
from reconciler.plan.actions import (
    Action,
    AfterRun,
    Evaluate,
    EvaluationSet,
    Hold,
    Promote,
    promotion_of,
)
from reconciler.plan.promotion import after_run


def _dataset(evaluation: EvaluationSet) -> str:
    examples = f"{evaluation.examples} examples of " if evaluation.examples else ""
    return (f"{examples}{evaluation.uri} (content {evaluation.content_hash[:12]}), "
            f"{evaluation.metric}")


def lines(action: Action) -> list[str]:
    """The evaluation and promotion sentences of one action (none for most)."""
    rule = promotion_of(action)
    if isinstance(action, AfterRun):
        return [] if rule is None else [f"after the run: {after_run(rule)}"]
    if not isinstance(action, Evaluate | Promote | Hold):
        return []
    found = [f"evaluated on {_dataset(action.evaluation)}"]
    if isinstance(action, Evaluate):
        found.append("scores " + ", ".join(f"run {run.job_id}" for run in action.runs))
    else:
        found.append(f"run {action.candidate.job_id}: {action.evaluation.metric} "
                     f"{score_text(action.candidate.score)}")
    if rule is not None and rule.current is not None:
        found.append(f"{rule.channel} now: run {rule.current.job_id}, "
                     f"{score_text(rule.current.score)}")
    if isinstance(action, Evaluate) and rule is not None:
        found.append(f"then: {after_run(rule)}")
    return found
