"""Plan and apply report -> text for a terminal, in the manner of `terraform plan`."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from reconciler.apply.execute import NOT_STARTED, Outcome
from reconciler.core.estimate import Estimate, tokens_text
from reconciler.core.estimate import describe as describe_totals
from reconciler.core.observed import JobState, ObservedJob
from reconciler.core.resources import id_of
from reconciler.plan.actions import (
    ACTION_KINDS,
    Action,
    Change,
    DriftRestore,
    Failed,
    Orphan,
    Retune,
    Update,
    is_launch,
)
from reconciler.plan.branch import BRANCH_WORDS, BranchChange, describe
from reconciler.plan.planner import Plan


def summary(plan: Plan) -> str:
    counts = plan.counts
    parts = [f"{counts.get(name, 0)} {kind.summary}" for name, kind in ACTION_KINDS.items()
             if counts.get(name) or kind.always_counted]
    return "Plan: " + ", ".join(parts) + "."


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    return json.dumps(value) if not isinstance(value, str) else value


def _change_line(change: Change) -> str:
    mark = "  [bold](forces re-tune)[/]" if change.forces_retune else ""
    return (f"      ~ {escape(change.field)}: {escape(_value(change.before))} -> "
            f"{escape(_value(change.after))}{mark}")


def _details(action: Action) -> list[str]:
    lines = [_change_line(change) for change in action.changes]
    if is_launch(action):
        lines.append(f"      {escape(action.launch.summary)}")
        if action.estimate is not None:
            lines.append(f"      {escape(estimate_text(action.estimate))}")
    if isinstance(action, Retune):
        lines += [f"      cancels {id_of(resource)} (superseded)"
                  for resource in action.cancel]
    if isinstance(action, Failed) and action.error:
        lines.append(f"      error: {escape(action.error)}")
    if isinstance(action, Orphan):
        lines.append(f"      {len(action.models)} model(s), {len(action.jobs)} running job(s)")
    if isinstance(action, Update | DriftRestore):
        lines.append(f"      model {action.patch.model}")
    return lines


def print_branch(changes: tuple[BranchChange, ...], base_ref: str, console: Console) -> None:
    """What the branch changes, job by job and field by field, as the Markdown comment says."""
    console.print(describe(changes, base_ref) + ".", highlight=False)
    for change in changes:
        console.print(f"  [bold]{change.name}[/]: {BRANCH_WORDS[change.change]}",
                      highlight=False)
        for line in map(_change_line, change.changes):
            console.print(line, highlight=False)
    console.print()


def estimate_text(estimate: Estimate) -> str:
    """One launch's spend: what is known, then what is not."""
    known = []
    if estimate.accelerators:
        known.append(f"on {estimate.accelerators}")
    if estimate.examples_processed is not None:
        known.append(f"{estimate.examples_processed:,} examples processed")
    if estimate.epochs is not None:
        known.append(f"{estimate.epochs:g} epochs")
    if estimate.training_tokens is not None:
        known.append(f"≈ {tokens_text(estimate.training_tokens)} training tokens")
    if estimate.dollars is not None:
        known.append(f"≈ ${estimate.dollars:,.2f} at list price")
    unknown = f"; not known: {estimate.unknown}" if estimate.unknown else ""
    return "estimate: " + (", ".join(known) or "nothing known") + unknown


def print_plan(plan: Plan, console: Console) -> None:
    # One print for all actions: each rich print costs ~0.2 ms, thousands of them seconds.
    lines = []
    for action in plan.actions:
        kind = ACTION_KINDS[action.action]
        symbol, style = kind.symbol, kind.style
        lines.append(f"  [{style}]{symbol} {action.action:<8}[/] [bold]{action.name}[/]"
                     f"  [dim]{escape(action.reason)}[/]")
        lines += _details(action)
    if lines:
        console.print("\n".join(lines), highlight=False)
    if plan.warnings:
        console.print("\n".join(["\n[yellow]Warnings:[/]", *(
            f"  [yellow]![/] {escape(str(warning))}" for warning in plan.warnings)]),
            highlight=False)
    console.print(f"\n[bold]{summary(plan)}[/]", highlight=False)
    if plan.totals.launches:
        console.print(f"This plan {escape(describe_totals(plan.totals))}.", highlight=False)
    for reason in plan.over_budget:
        console.print(f"[red]Over budget:[/] {escape(reason)}; apply launches nothing without "
                      "--allow-over-budget", highlight=False)


class JobProgress:
    """Live job states for `apply --wait`: a table on a terminal, one line per change in logs."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.shown: dict[str, str] = {}
        self.live = Live(console=console, auto_refresh=False) if console.is_terminal else None

    def __enter__(self) -> JobProgress:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.live is not None:
            self.live.stop()

    def __call__(self, latest: dict[str, ObservedJob]) -> None:
        if self.live is not None:
            table = Table("job", "tuning job", "state")
            for name, job in sorted(latest.items()):
                table.add_row(name, job.job_id, job.state.value)
            self.live.update(table, refresh=True)
            return
        for name, job in sorted(latest.items()):
            if self.shown.get(name) != job.state.value:
                self.shown[name] = job.state.value
                self.console.print(f"  {name}: {job.job_id} {job.state.value}", highlight=False)


def print_outcomes(outcomes: tuple[Outcome, ...], console: Console, *,
                   totals: bool = True) -> None:
    if not outcomes:
        if totals:
            console.print("Nothing to do.")
        return
    lines = []
    for outcome in outcomes:
        style = "green" if outcome.ok else "red"
        lines.append(f"  [{style}]{outcome.result:<9}[/] [bold]{outcome.name}[/]  "
                     f"{escape(outcome.detail)}")
    console.print("\n".join(lines), highlight=False)
    if not totals:
        return
    skipped = sum(outcome.result == NOT_STARTED for outcome in outcomes)
    failed = sum(not outcome.ok for outcome in outcomes) - skipped
    done = len(outcomes) - failed - skipped
    interrupted = f", {skipped} not started (interrupted)" if skipped else ""
    console.print(f"\n[bold]Apply: {done} done, {failed} failed{interrupted}.[/]",
                  highlight=False)


def print_followed(latest: dict[str, ObservedJob], console: Console) -> bool:
    """Prints how each followed job ended; True when all succeeded."""
    for name, job in sorted(latest.items()):
        style = "green" if job.state == JobState.SUCCEEDED else "red"
        error = f"  {escape(job.error)}" if job.error else ""
        console.print(f"  [{style}]{job.state.value:<9}[/] [bold]{name}[/]  {job.job_id}{error}",
                      highlight=False)
    return all(job.state == JobState.SUCCEEDED for job in latest.values())
