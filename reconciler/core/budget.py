"""PURE: the budget an apply may spend, and which launches of a plan exceed it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from reconciler.core.estimate import Estimate, tokens_text, totals
from reconciler.core.numbers import NonNegative

DEFAULT_MAX_LAUNCHES = 20


class Budget(BaseModel):
    """`budget:` in configs/reconciler.yaml; an apply beyond it launches nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    # One YAML file once launched 10,002 jobs with no question asked: a default cap.
    max_launches: Annotated[int, Field(ge=0)] = DEFAULT_MAX_LAUNCHES
    # Dollars at list price for all launches and evaluations of one apply (launches whose
    # cost cannot be known before the run, such as pipeline runs billed by the hour, do not
    # count).
    max_per_apply: NonNegative | None = None
    max_tokens_per_job: Annotated[int, Field(ge=0)] | None = None


def over_budget(launches: Sequence[tuple[str, Estimate]], budget: Budget,
                evaluations: Sequence[tuple[str, Estimate]] = ()) -> tuple[str, ...]:
    """Why these launches (and evaluations: paid inference) exceed the budget, one reason a
    line; () when they fit."""
    found = []
    if len(launches) > budget.max_launches:
        names = ", ".join(name for name, _ in launches[:10])
        more = f" and {len(launches) - 10} more" if len(launches) > 10 else ""
        found.append(f"{len(launches)} launches, more than budget.max_launches "
                     f"{budget.max_launches}: {names}{more}")
    if budget.max_tokens_per_job is not None:
        found += [f"{name}: ≈ {tokens_text(e.training_tokens)} training tokens, more than "
                  f"budget.max_tokens_per_job {tokens_text(budget.max_tokens_per_job)}"
                  for name, e in launches
                  if e.training_tokens is not None and e.training_tokens > (
                      budget.max_tokens_per_job)]
    total = totals((e for _, e in launches), (e for _, e in evaluations))
    if budget.max_per_apply is not None and total.spend > budget.max_per_apply:
        costs = ", ".join([*(f"{name} ${e.dollars:,.2f}" for name, e in launches if e.dollars),
                           *(f"{name} evaluation ${e.dollars:,.2f}" for name, e in evaluations
                             if e.dollars)])
        found.append(f"≈ ${total.spend:,.2f} at list price, more than "
                     f"budget.max_per_apply ${budget.max_per_apply:,.2f} ({costs})")
    return tuple(found)
