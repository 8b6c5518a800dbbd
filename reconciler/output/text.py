"""Plan and apply report -> text for a terminal, in the manner of `terraform plan`.

Every value from the repository or the service goes through reconciler.output.escape, so it
is shown as typed, never applied as markup. On a terminal long lines wrap at its width,
between words, indented under their start.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from reconciler.apply.execute import NOT_STARTED, Outcome
from reconciler.core.estimate import Estimate, tokens_text
from reconciler.core.estimate import describe as describe_totals
from reconciler.core.observed import JobState, ObservedJob
from reconciler.core.resources import id_of
from reconciler.errors import one_line
from reconciler.output import escape, evaluation
from reconciler.plan.actions import (
    ACTION_KINDS,
    Action,
    Attribute,
    Change,
    Create,
    DriftRestore,
    Evaluate,
    Failed,
    Orphan,
    Queued,
    Rename,
    Stopping,
    Update,
    is_launch,
    stops,
)
from reconciler.plan.branch import BRANCH_WORDS, Branch, BranchChange, DatasetChange, describe
from reconciler.plan.planner import Plan

# Terraform's words for -target, said of --target.
TARGET_WARNING = ("Targeting is in effect: this plan covers only the jobs named with "
                  "--target, so it may not be all that the configs ask for. --target is not "
                  "for routine use; it is for exceptional situations, such as recovering "
                  "from errors or mistakes.")
APPLIED_TARGET_WARNING = ("Applied changes may be incomplete: the plan was made with "
                          "--target, so the changes of other jobs were not applied. Run "
                          "`reconcile plan` to see what is still pending.")


def summary(plan: Plan) -> str:
    counts = plan.counts
    parts = [f"{counts.get(name, 0)} {kind.summary}" for name, kind in ACTION_KINDS.items()
             if counts.get(name) or kind.always_counted]
    if plan.stopping:
        parts.append(f"{plan.stopping} run{'s' if plan.stopping != 1 else ''} to cancel")
    return "Plan: " + ", ".join(parts) + "."


STOP_WORDS = {"superseded": "superseded", "twin": "a twin: the same run launched twice; the "
              "older is kept"}


def stop_lines(action: Action, run: Callable[[str], str] = escape.markup,
               prose: Callable[[str], str] = escape.markup) -> list[str]:
    """What applying the action cancels, one run a line, then the leftovers of its runs
    that apply --prune removes; each run's or Model's id shown by `run`, and what the
    service said of a run by `prose` (the medium's escaping: console markup here, a code
    span and Markdown prose in Markdown)."""
    left = action.leftovers if isinstance(action, Stopping) else ()
    return [*(f"cancels {run(id_of(resource))} ({STOP_WORDS[why]})"
              for resource, why in stops(action)),
            *(f"leftover model {run(id_of(one.model))} ({prose(one.why)}); apply --prune "
              "removes it and its endpoints" for one in left)]


# Retired Models named in a plan's line; the rest are counted.
RETIRED_SHOWN = 10


def retired_line(plan: Plan) -> str:
    """The Models kept as retired, in one line of plain text ("" when there are none)."""
    if not plan.retired:
        return ""
    ids = [id_of(model) for model in plan.retired]
    more = f" and {len(ids) - RETIRED_SHOWN} more" if len(ids) > RETIRED_SHOWN else ""
    return (f"{len(ids)} model(s) retired: the service refuses to delete them, their "
            f"endpoints are deleted, so idle they cost nothing "
            f"({', '.join(ids[:RETIRED_SHOWN])}{more})")


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    return json.dumps(value) if not isinstance(value, str) else value


def hcl(value: Any) -> str:
    """A value as `terraform plan` writes one: strings quoted, maps as `{key = value}`."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {hcl(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(hcl, value)) + "]"
    return json.dumps(value, ensure_ascii=False)


def attribute_block(attributes: Iterable[Attribute]) -> list[str]:
    """A create's `+` lines, names aligned; each line holds no control character."""
    found = list(attributes)
    width = max((len(a.name) for a in found), default=0)
    lines = []
    for attribute in found:
        shown = f"({attribute.unset})" if attribute.value is None else hcl(attribute.value)
        note = f"  # {attribute.note}" if attribute.note else ""
        lines.append(one_line(f"+ {attribute.name:<{width}} = {shown}{note}"))
    return lines


def _change_line(change: Change) -> str:
    mark = "  [bold](forces re-tune)[/]" if change.forces_retune else ""
    return (f"      ~ {escape.markup(change.field)}: {escape.markup(_value(change.before))} -> "
            f"{escape.markup(_value(change.after))}{mark}")


def _details(action: Action) -> list[str]:
    lines = [_change_line(change) for change in action.changes]
    if is_launch(action):
        lines.append(f"      {escape.markup(action.launch.summary)}")
        attributes = action.attributes if isinstance(action, Create | Queued) else ()
        lines += [f"      {escape.markup(line)}" for line in attribute_block(attributes)]
        if action.estimate is not None:
            lines.append(f"      {escape.markup(estimate_text(action.estimate))}")
    lines += [f"      {escape.markup(line)}" for line in evaluation.lines(action)]
    if isinstance(action, Evaluate) and action.estimate is not None:
        lines.append(f"      {escape.markup(estimate_text(action.estimate))}")
    lines += [f"      {line}" for line in stop_lines(action)]
    if isinstance(action, Rename):
        model = f"; model {action.patch.model}" if action.patch else ""
        lines.append(f"      {len(action.runs)} run(s) of "
                     f"{escape.markup(action.renamed_from)} move to "
                     f"{escape.markup(action.name)}{escape.markup(model)}")
    if isinstance(action, Failed) and action.error:
        lines.append(f"      error: {escape.markup(action.error)}")
    if isinstance(action, Orphan):
        lines.append(f"      {len(action.models)} model(s), {len(action.jobs)} running job(s)")
    if isinstance(action, Update | DriftRestore):
        lines.append(f"      model {escape.markup(action.patch.model)}")
    return lines


def _line_numbers(lines: tuple[int, ...], count: int, where: str = "") -> str:
    if not lines:
        return ""
    shown = ", ".join(map(str, lines)) + (", …" if count > len(lines) else "")
    return f" ({'line' if len(lines) == 1 and count == 1 else 'lines'} {shown}{where})"


def _signed_tokens(delta: int) -> str:
    return ("+" if delta >= 0 else "-") + tokens_text(abs(delta))


def _dataset_line(dataset: DatasetChange) -> str:
    line = f"{dataset.role} dataset {dataset.path}: "
    if dataset.examples_before is not None and dataset.examples_after is not None:
        line += f"{dataset.examples_before:,} -> {dataset.examples_after:,} examples"
    else:
        line += "new content"
    found = dataset.examples
    if found is not None:
        parts = []
        if found.added:
            parts.append(f"{found.added:,} added{_line_numbers(found.added_lines, found.added)}")
        if found.removed:
            parts.append(f"{found.removed:,} removed"
                         f"{_line_numbers(found.removed_lines, found.removed, ' at the base')}")
        if found.changed:
            parts.append(f"{found.changed:,} changed"
                         f"{_line_numbers(found.changed_lines, found.changed)}")
        if not parts:
            parts.append("the same examples in another order")
        line += ": " + ", ".join(parts)
    if dataset.tokens_before is not None and dataset.tokens_after is not None:
        line += (f"; ≈ {tokens_text(dataset.tokens_before)} -> "
                 f"{tokens_text(dataset.tokens_after)} tokens "
                 f"({_signed_tokens(dataset.tokens_after - dataset.tokens_before)})")
    return line


def dataset_change_text(change: BranchChange) -> list[str]:
    """What the branch changes in a job's data and cost, as plain sentences."""
    lines = [_dataset_line(dataset) for dataset in change.datasets]
    before, after = change.cost_before, change.cost_after
    if before is not None and after is not None:
        delta = after - before
        sign = "+" if delta >= 0 else "-"
        lines.append(f"a run costs ≈ ${before:,.2f} -> ${after:,.2f} ({sign}${abs(delta):,.2f}) "
                     "at list price")
    elif after is not None and change.change == "added":
        lines.append(f"a run costs ≈ ${after:,.2f} at list price")
    return lines


def print_lines(lines: list[str], console: Console) -> None:
    """Console markup lines, printed at once; on a terminal (or with COLUMNS) each longer
    than the width wraps between words, its further lines indented under its text."""
    if not lines:
        return
    # One print for all lines: each rich print costs ~0.2 ms, thousands of them seconds.
    if console.soft_wrap:
        text = Text.from_markup("\n".join(lines), emoji=False)
        if console.color_system is None:
            # No colour and no wrapping: the text as it reads. Rendering it through rich's
            # segments took two thirds of printing a 1,000-job plan (0.11 of 0.17 s).
            console.out(text.plain, highlight=False)
        else:
            console.print(text, highlight=False)
        return
    width = console.width
    out = Text()
    for number, line in enumerate(lines):
        if number:
            out.append("\n")
        # As the consoles are made (reconciler.cli): a value's `:smile:` is shown as typed.
        text = Text.from_markup(line, emoji=False)
        if text.cell_len <= width:
            out.append_text(text)
            continue
        indent = len(text.plain) - len(text.plain.lstrip(" "))
        body = text[indent:]
        hang = indent + 4 if indent + 4 < width // 2 else indent
        wrapped = body.wrap(console, max(10, width - hang))
        for index, piece in enumerate(wrapped):
            if index:
                out.append("\n")
            out.append(" " * (indent if index == 0 else hang))
            piece.rstrip()
            out.append_text(piece)
    console.print(out, highlight=False, soft_wrap=True)


def print_branch(branch: Branch, console: Console) -> None:
    """What the branch changes, job by job and field by field, as the Markdown comment says."""
    lines = [escape.markup(describe(branch.changes, branch.base_ref)) + "."]
    for change in branch.changes:
        lines.append(f"  [bold]{escape.markup(change.name)}[/]: {BRANCH_WORDS[change.change]}")
        lines += map(_change_line, change.changes)
        lines += [f"      {escape.markup(line)}" for line in dataset_change_text(change)]
    print_lines(lines, console)
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
    if estimate.prediction_tokens is not None:
        # Every token priced as an answer's: an upper bound.
        known.append(f"≈ {tokens_text(estimate.prediction_tokens)} prediction tokens")
        if estimate.dollars is not None:
            known.append(f"≤ ${estimate.dollars:,.2f} at list price")
    elif estimate.dollars is not None:
        known.append(f"≈ ${estimate.dollars:,.2f} at list price")
    elif not estimate.accelerators:
        known.append("cost unknown")
    unknown = f"; not known: {estimate.unknown}" if estimate.unknown else ""
    return "estimate: " + (", ".join(known) or "nothing known") + unknown


def print_plan(plan: Plan, console: Console) -> None:
    lines = []
    if plan.targets:
        lines += [f"[yellow]Warning:[/] {escape.markup(TARGET_WARNING)}",
                  f"  targets: {escape.markup(', '.join(plan.targets))}", ""]
    for action in plan.actions:
        kind = ACTION_KINDS[action.action]
        symbol, style = kind.symbol, kind.style
        lines.append(f"  [{style}]{symbol} {action.action:<8}[/] "
                     f"[bold]{escape.markup(action.name)}[/]  "
                     f"[dim]{escape.markup(action.reason)}[/]")
        lines += _details(action)
    if plan.warnings:
        lines += ["", "[yellow]Warnings:[/]"]
        lines += [f"  [yellow]![/] {escape.markup(warning)}" for warning in plan.warnings]
    if plan.retired:
        lines += ["", f"[dim]{escape.markup(retired_line(plan))}[/]"]
    lines += ["", f"[bold]{summary(plan)}[/]"]
    if plan.totals.launches or plan.totals.evaluations:
        lines.append(f"This plan {escape.markup(describe_totals(plan.totals))}.")
    lines += [f"[red]Over budget:[/] {escape.markup(reason)}; apply launches nothing without "
              "--allow-over-budget" for reason in plan.over_budget]
    print_lines(lines, console)


def _elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _created(job: ObservedJob) -> datetime | None:
    try:
        created = datetime.fromisoformat(job.create_time)
    except ValueError:
        return None
    return created if created.tzinfo is not None else created.replace(tzinfo=UTC)


# In a log, a line at least this often while jobs run, so that a quiet log is not a hung one.
HEARTBEAT = timedelta(minutes=10)


class JobProgress:
    """Live job states for `apply --wait`, with each job's time since it was created and
    the time of the last poll: a table on a terminal; in logs, one line per change and one
    every HEARTBEAT while nothing changes."""

    def __init__(self, console: Console,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.console = console
        self.clock = clock
        self.shown: dict[str, str] = {}
        # A job's elapsed time stops when it ends.
        self.ended: dict[str, float] = {}
        self.said: datetime | None = None
        self.live = Live(console=console, auto_refresh=False) if console.is_terminal else None

    def __enter__(self) -> JobProgress:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.live is not None:
            self.live.stop()

    def _elapsed(self, name: str, job: ObservedJob, now: datetime) -> str:
        if name in self.ended:
            return _elapsed(self.ended[name])
        created = _created(job)
        seconds = (now - created).total_seconds() if created is not None else 0.0
        if job.state not in (JobState.PENDING, JobState.RUNNING, JobState.CANCELLING):
            self.ended[name] = seconds
        return _elapsed(seconds)

    def __call__(self, latest: dict[str, ObservedJob]) -> None:
        now = self.clock()
        polled = now.astimezone().strftime("%H:%M:%S")
        if self.live is not None:
            # Ids, states and times are never cut: the name column gives way first.
            longest = max((len(escape.text(job.job_id)) for job in latest.values()), default=0)
            table = Table(caption=f"last poll {polled}", caption_justify="left")
            table.add_column("job", overflow="fold")
            table.add_column("tuning job", no_wrap=True, min_width=longest)
            for header in ("state", "elapsed"):
                table.add_column(header, no_wrap=True)
            for name, job in sorted(latest.items()):
                table.add_row(Text(escape.text(name)), Text(escape.text(job.job_id)),
                              Text(job.state.value), self._elapsed(name, job, now))
            self.live.update(table, refresh=True)
            return
        lines = []
        for name, job in sorted(latest.items()):
            elapsed = self._elapsed(name, job, now)
            if self.shown.get(name) != job.state.value:
                self.shown[name] = job.state.value
                lines.append(f"  [{polled}] {escape.markup(name)}: "
                             f"{escape.markup(job.job_id)} {job.state.value} (after {elapsed})")
        if not lines and self.said is not None and now - self.said >= HEARTBEAT:
            waiting = [f"{escape.markup(name)} ({self._elapsed(name, job, now)})"
                       for name, job in sorted(latest.items()) if name not in self.ended]
            lines.append(f"  [{polled}] still waiting for {', '.join(waiting)}")
        if lines:
            self.said = now
            print_lines(lines, self.console)


def print_outcomes(outcomes: tuple[Outcome, ...], console: Console, *,
                   totals: bool = True) -> None:
    if not outcomes:
        if totals:
            console.print("Nothing to do.")
        return
    lines = []
    for outcome in outcomes:
        style = "green" if outcome.ok else "red"
        lines.append(f"  [{style}]{escape.markup(outcome.result):<9}[/] "
                     f"[bold]{escape.markup(outcome.name)}[/]  {escape.markup(outcome.detail)}")
    print_lines(lines, console)
    if not totals:
        return
    skipped = sum(outcome.result == NOT_STARTED for outcome in outcomes)
    failed = sum(not outcome.ok for outcome in outcomes) - skipped
    done = len(outcomes) - failed - skipped
    interrupted = f", {skipped} not started (interrupted)" if skipped else ""
    console.print(f"\n[bold]Apply: {done} done, {failed} failed{interrupted}.[/]",
                  highlight=False)


def print_exit_reasons(reasons: list[str], console: Console) -> None:
    """Why apply exits non-zero, so that a red run never says only `0 failed`."""
    if reasons:
        print_lines([f"[red]Exit code 1:[/] {escape.markup('; '.join(reasons))}."], console)


def print_followed(latest: dict[str, ObservedJob], console: Console) -> None:
    """Prints how each followed job ended."""
    lines = []
    for name, job in sorted(latest.items()):
        style = "green" if job.state == JobState.SUCCEEDED else "red"
        error = f"  {escape.markup(job.error)}" if job.error else ""
        lines.append(f"  [{style}]{job.state.value:<9}[/] [bold]{escape.markup(name)}[/]  "
                     f"{escape.markup(job.job_id)}{error}")
    print_lines(lines, console)
