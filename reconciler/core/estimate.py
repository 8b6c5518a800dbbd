"""PURE: what launching a job will spend, as far as it can be known before the run.

An estimate never guesses: what tuneops cannot know (a pipeline run's hours, a service
default epoch count, the tokens of a gs:// dataset it has not read) is said, not made up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Estimate:
    # The accelerators one run takes ("8 x A100 80 GB"), for kinds billed by them.
    accelerators: str = ""
    examples_processed: int | None = None
    epochs: float | None = None
    training_tokens: int | None = None
    dollars: float | None = None
    # What cannot be known before the run, in words.
    unknown: str = ""
    # For an evaluation: the tokens of the examples sent to each run's endpoint, all runs.
    prediction_tokens: int | None = None


@dataclass(frozen=True)
class Totals:
    launches: int = 0
    training_tokens: int = 0
    dollars: float = 0.0
    # Token-billed launches whose tokens or price are unknown: the totals are lower bounds.
    not_estimable: int = 0
    # Token-billed launches whose training tokens are unknown.
    tokens_unknown: int = 0
    # Accelerator-billed runs, by the accelerators they take.
    runs_on: dict[str, int] = field(default_factory=dict)
    # Evaluations (paid inference on tuned endpoints): how many, their tokens and dollars,
    # and how many of them have no known price (their dollars are then a lower bound).
    evaluations: int = 0
    prediction_tokens: int = 0
    evaluation_dollars: float = 0.0
    evaluations_not_estimable: int = 0

    @property
    def spend(self) -> float:
        """Dollars of everything priced: launches and evaluations."""
        return round(self.dollars + self.evaluation_dollars, 2)


def totals(estimates: Iterable[Estimate], evaluations: Iterable[Estimate] = ()) -> Totals:
    found = list(estimates)
    scored = list(evaluations)
    by_tokens = [e for e in found if not e.accelerators]
    return Totals(
        launches=len(found),
        training_tokens=sum(e.training_tokens or 0 for e in by_tokens),
        dollars=round(sum(e.dollars or 0.0 for e in by_tokens), 2),
        not_estimable=sum(e.dollars is None for e in by_tokens),
        tokens_unknown=sum(e.training_tokens is None for e in by_tokens),
        runs_on=dict(sorted(Counter(e.accelerators for e in found if e.accelerators).items())),
        evaluations=len(scored),
        prediction_tokens=sum(e.prediction_tokens or 0 for e in scored),
        evaluation_dollars=round(sum(e.dollars or 0.0 for e in scored), 2),
        evaluations_not_estimable=sum(e.dollars is None for e in scored),
    )


def tokens_text(tokens: int) -> str:
    """41 M, 72 K, 950: how many tokens, at a glance."""
    if tokens >= 1_000_000:
        return f"{tokens / 1_000_000:.1f} M".replace(".0 M", " M")
    if tokens >= 1_000:
        return f"{tokens / 1_000:.0f} K"
    return str(tokens)


def describe_evaluations(total: Totals) -> str:
    """"evaluates 2 runs: ≈ 12 K prediction tokens, ≤ $0.03 at list price"; "" for none."""
    if not total.evaluations:
        return ""
    runs = f"{total.evaluations} evaluation{'s' if total.evaluations != 1 else ''}"
    tokens = (f"≈ {tokens_text(total.prediction_tokens)} prediction tokens"
              if total.prediction_tokens else "prediction tokens unknown")
    if total.evaluations_not_estimable == total.evaluations:
        cost = "cost unknown"
    else:
        cost = f"≤ ${total.evaluation_dollars:,.2f} at list price"
        if total.evaluations_not_estimable:
            cost += f" ({total.evaluations_not_estimable} of them not estimable, so more)"
    return f"runs {runs}: {tokens}, {cost}"


def describe(total: Totals) -> str:
    """"launches 3 tuning jobs: ≈ 41 M training tokens, ≈ $205 at list price; 1 pipeline run
    on 8 x A100 80 GB": the line a reviewer reads before merging (and what its evaluations
    cost)."""
    launches = _describe_launches(total)
    evaluations = describe_evaluations(total)
    if evaluations and not total.launches:
        return evaluations
    return f"{launches}; {evaluations}" if evaluations else launches


def _describe_launches(total: Totals) -> str:
    if not total.launches:
        return "launches nothing"
    parts = []
    jobs = total.launches - sum(total.runs_on.values())
    if jobs:
        # A sum over no known value is not $0.00: what is unknown is said to be.
        tokens = ("training tokens unknown" if total.tokens_unknown == jobs
                  else f"≈ {tokens_text(total.training_tokens)} training tokens")
        cost = ("cost unknown" if total.not_estimable == jobs
                else f"≈ ${total.dollars:,.2f} at list price")
        text = f"{jobs} tuning job{'s' if jobs != 1 else ''}: {tokens}, {cost}"
        if 0 < total.not_estimable < jobs:
            text += f" ({total.not_estimable} of them not estimable, so more)"
        parts.append(text)
    parts += [f"{count} pipeline run{'s' if count != 1 else ''} on {accelerators} (billed by "
              "the hour; the hours are not known before the run)"
              for accelerators, count in total.runs_on.items()]
    return "launches " + "; ".join(parts)
