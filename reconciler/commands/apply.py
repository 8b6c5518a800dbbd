"""`reconcile apply`: execute a plan, freshly computed or saved by `plan --out`."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import typer
from rich.console import Console

from reconciler.apply.execute import QUEUED, ApplyOptions, Outcome, apply, launch_queued
from reconciler.apply.follow import TERMINAL, Followed, follow
from reconciler.apply.interrupt import interruptible
from reconciler.commands.plan import make_plan
from reconciler.connect import Connection, connect
from reconciler.core.budget import Budget, over_budget
from reconciler.core.desired import Desired
from reconciler.core.estimate import describe as describe_totals
from reconciler.core.observed import JobState, ObservedJob
from reconciler.edges.gitrepo import dirty_files
from reconciler.errors import TuneopsError
from reconciler.layout import CONFIG_DIR
from reconciler.load.config import load_config
from reconciler.load.desired import build_desired
from reconciler.output import escape, planfile
from reconciler.output import text as render
from reconciler.plan.actions import Orphan, Queued, is_launch
from reconciler.plan.planner import Plan, desired_digest

# A refused job is desired state this target cannot reach: the run must not look green.
EXIT_REFUSED = 1


def _check_same(saved: Plan, desired: Desired, live: Plan, path: Path) -> None:
    """A saved plan is only a promise: apply executes the plan made now, if it is the same.

    Nothing in the file is executed, so an edited file cannot launch, upload or delete
    anything that planning the same inputs would not.
    """
    if saved.desired_digest != desired_digest(desired):
        raise TuneopsError(f"{path}: plan is stale: configs or datasets changed since it was "
                           "made; run plan again")
    if saved.observed_digest != live.observed_digest:
        raise TuneopsError(f"{path}: plan is stale: jobs or Models in Vertex AI changed since "
                           "it was made; run plan again")
    if saved != live:
        fresh = {(a.name, a.action): a for a in live.actions}
        differing = sorted({a.name for a in saved.actions
                            if fresh.get((a.name, a.action)) != a}
                           | {a.name for a in live.actions if a not in saved.actions})
        shown = ", ".join(differing[:5]) or "its warnings or options"
        raise TuneopsError(f"{path}: the plan file differs from what planning produces now "
                           f"(for {shown}): it was edited or made by another commit or "
                           "version of reconcile; nothing was applied; run plan again")


def _approved(plan: Plan, desired: Desired, auto_approve: bool, console: Console) -> bool:
    """As terraform asks: only `yes`, typed, applies to a real project."""
    if auto_approve or desired.target.local:
        return True
    if not sys.stdin.isatty():
        raise TuneopsError("apply launches paid tuning jobs and no terminal is attached to "
                           "confirm: pass --auto-approve, or a plan file from plan --out")
    # Launches and evaluations (inference) are both paid for.
    paid = (f"It {describe_totals(plan.totals)}, which is paid for. "
            if plan.totals.launches or plan.totals.evaluations else "")
    console.print(f"\nDo you want to apply this plan to project "
                  f"{escape.markup(desired.target.project)}?\n  {escape.markup(paid)}Only "
                  "'yes' will be accepted to approve.\n", highlight=False)
    answer: str = typer.prompt("  Enter a value", default="", show_default=False)
    return answer.strip() == "yes"


def _still_queued(plan: Plan, outcomes: tuple[Outcome, ...]) -> list[Queued]:
    """What waits for quota: queued by the plan, or refused for quota when launched."""
    refused = {o.name for o in outcomes if o.result == QUEUED}
    return [a if isinstance(a, Queued) else Queued.of(a, a.reason)
            for a in plan.actions
            if is_launch(a) and (isinstance(a, Queued) or a.name in refused)]


def _drain(plan: Plan, desired: Desired, outcomes: tuple[Outcome, ...], *,
           connection: Connection, root: Path, deadline: float, console: Console,
           stop: threading.Event) -> tuple[Outcome, ...]:
    """`apply --wait` launches queued jobs as running ones finish, until none waits, the
    deadline passes or a signal comes; what still waits then is reported (a later apply
    launches it)."""
    waiting = _still_queued(plan, outcomes)
    if waiting:
        console.print(f"\n{len(waiting)} job(s) wait for quota; launching them as slots "
                      "free...", highlight=False)
    kinds = {job.name: job.kind for job in desired.jobs}
    launched: list[Outcome] = []
    while waiting and not stop.is_set():
        new, waiting = launch_queued(waiting, connection.backend, connection.storage, root,
                                     limits=desired.limits, kinds=kinds, stop=stop)
        render.print_outcomes(tuple(new), console, totals=False)
        launched += new
        if not waiting or time.monotonic() >= deadline:
            break
        stop.wait(connection.poll_seconds)  # running jobs free their slots in their time
    if waiting:
        console.print(f"{len(waiting)} job(s) still wait for quota: "
                      f"{escape.markup(', '.join(a.name for a in waiting))}; apply again "
                      "later.", highlight=False)
    return (*outcomes, *launched)


def _wait(outcomes: tuple[Outcome, ...], connection: Connection, deadline: float,
          console: Console, stop: threading.Event) -> tuple[list[str], dict[str, ObservedJob]]:
    """Follows the launched jobs to their end, or until a signal; the names of those that did
    not succeed, and what was seen of each last."""
    launched = [Followed(o.name, o.resource) for o in outcomes if o.ok and o.resource]
    if not launched or stop.is_set():
        return [], {}
    timeout = max(0.0, deadline - time.monotonic())
    console.print(f"\nWaiting for {len(launched)} job(s) (timeout {timeout:g}s)...")
    with render.JobProgress(console) as progress:
        latest = follow(connection.backend, launched, timeout=timeout,
                        interval=connection.poll_seconds, on_poll=progress, stop=stop)
    if stop.is_set():
        return [], latest
    render.print_followed(latest, console)
    return sorted(name for name, job in latest.items() if job.state != JobState.SUCCEEDED), latest


def _named(count_of: str, names: list[str]) -> str:
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"{len(names)} {count_of}: {shown}"


# What a failed step was doing, by its action's kind. The kinds that only report (noop,
# running, failed) have a step only to cancel superseded runs and twins; refused and hold
# have none. An evaluation whose scores were recorded but whose channel did not move is a
# failed promotion (its outcome says "promote").
DOING = {"create": "launch(es)", "retune": "launch(es)", "drift": "drift repair(s)",
         "update": "update(s)", "rename": "rename(s)", "orphan": "prune(s)",
         "noop": "cancel(s)", "running": "cancel(s)", "failed": "cancel(s)",
         "evaluate": "evaluation(s)", "promote": "promotion(s)"}


def failures(outcomes: tuple[Outcome, ...], *, queued: str) -> list[tuple[str, str]]:
    """(what was being done, job) for each failed outcome; `queued` says what a queued
    job's step did in this batch (cancel its superseded runs, or, with --wait, launch)."""
    return [(queued if outcome.action == "queued" else DOING[outcome.action], outcome.name)
            for outcome in outcomes if not outcome.ok]


def failure_reasons(found: list[tuple[str, str]]) -> list[str]:
    """One exit reason per kind of failure, naming its jobs: `2 cancel(s) failed: a, b`."""
    grouped: dict[str, list[str]] = {}
    for doing, name in found:
        grouped.setdefault(doing, []).append(name)
    return [_named(f"{doing} failed", names) for doing, names in grouped.items()]


def _left_running(outcomes: tuple[Outcome, ...], latest: dict[str, ObservedJob],
                  connection: Connection, signal_name: str, console: Console) -> None:
    """What an interrupted `apply --wait` leaves behind: the runs go on in Vertex AI."""
    launched = [o for o in outcomes if o.ok and o.resource]
    shown = [f"{o.name} ({latest[o.name].job_id} {latest[o.name].state.value})"
             if o.name in latest else f"{o.name} ({o.detail.split()[0]})" for o in launched]
    console.print(f"\n{signal_name}: stopped waiting. Launched or adopted by this apply: "
                  f"{escape.markup(', '.join(shown) or 'none')}.", highlight=False)
    if any(o.name not in latest or latest[o.name].state not in TERMINAL for o in launched):
        console.print(f"Those not finished go on in {escape.markup(connection.where)} without "
                      "tuneops: follow them with `reconcile status`, or wait again with "
                      "`reconcile apply --wait` (it launches nothing twice).", highlight=False)


def _refuse_dirty(root: Path, desired: Desired) -> None:
    """Every launched job is labelled with HEAD's sha: uncommitted configs would make it lie."""
    datasets = {d.path for job in desired.jobs for d in job.datasets if d.path is not None}
    dirty = dirty_files(root, [CONFIG_DIR, *sorted(datasets)])
    if dirty:
        shown = ", ".join(dirty[:10]) + (f" and {len(dirty) - 10} more" if len(dirty) > 10
                                          else "")
        raise TuneopsError(f"uncommitted changes in {shown}; commit them (launched jobs are "
                           "labelled with the commit) or pass --allow-dirty")


def _over_budget(plan: Plan, budget: Budget, max_cost: float | None) -> tuple[str, ...]:
    """The plan's own budget findings, and --max-cost's (the lower dollar cap wins)."""
    if max_cost is None:
        return plan.over_budget
    capped = min(max_cost, budget.max_per_apply) if budget.max_per_apply is not None else max_cost
    return over_budget(plan.launches, budget.model_copy(update={"max_per_apply": capped}),
                       plan.evaluations)


def _refuse_empty_prune(desired: Desired, plan: Plan) -> None:
    """Like Argo CD's allowEmpty: an empty desired state is far more often a bad merge or a
    wrong --root than a wish to delete every tuned Model."""
    removable = sum(isinstance(action, Orphan) and action.removable for action in plan.actions)
    if not desired.jobs and removable:
        raise TuneopsError(f"refusing to prune: configs/ holds no job, so --prune would delete "
                           f"the Models of all {removable} managed job(s); pass "
                           "--allow-empty if that is meant (nothing was changed)")


def apply_command(*, root: Path, planfile_path: Path | None, auto_approve: bool,
                  retry_failed: bool, prune: bool, parallelism: int, wait: bool,
                  timeout: float, allow_dirty: bool, console: Console,
                  max_cost: float | None = None, allow_over_budget: bool = False,
                  allow_empty: bool = False, targets: tuple[str, ...] = ()) -> int:
    if planfile_path is not None and targets:
        raise TuneopsError("--target cannot be given with a plan file: the plan file keeps "
                           "the targets it was made with")
    config = load_config(root)
    saved = planfile.read(planfile_path) if planfile_path is not None else None
    with connect(config.target, root) as connection:
        desired = build_desired(config, connection.storage)
        if not config.target.local and not allow_dirty:
            _refuse_dirty(root, desired)
        live = make_plan(desired, connection, root=root,
                         retry_failed=saved.retry_failed if saved else retry_failed,
                         targets=saved.targets if saved else targets)
        if saved is not None and planfile_path is not None:
            _check_same(saved, desired, live, planfile_path)
        if prune and not allow_empty:
            _refuse_empty_prune(desired, live)
        # A saved plan is shown too: what runs is what the reader sees, then the results.
        console.print(f"Applying to {escape.markup(connection.where)}.\n", highlight=False)
        render.print_plan(live, console)
        refused = [action.name for action in live.actions if action.action == "refused"]
        reasons = ([_named("job(s) refused, which this target cannot launch", refused)]
                   if refused else [])
        if not live.has_changes and not (prune and live.prunes):
            console.print("\nNo changes. Nothing launched.", highlight=False)
            render.print_exit_reasons(reasons, console)
            return EXIT_REFUSED if reasons else 0
        beyond = _over_budget(live, desired.budget, max_cost)
        if beyond and not allow_over_budget:
            for reason in beyond:
                console.print(f"[red]Over budget:[/] {escape.markup(reason)}", highlight=False)
            console.print("Nothing launched: raise budget: in configs/reconciler.yaml, or pass "
                          "--allow-over-budget.", highlight=False)
            return 1
        if saved is None and not _approved(live, desired, auto_approve, console):
            console.print("Apply cancelled.")
            return 1
        console.print()
        # Ctrl-C and SIGTERM stop the same way from the first launch to the last poll.
        with interruptible() as interrupt:
            outcomes = apply(live, connection.backend, connection.storage, root,
                             ApplyOptions(parallelism=parallelism, prune=prune,
                                          stop=interrupt.stop))
            render.print_outcomes(outcomes, console)
            if interrupt.signal:
                return interrupt.exit_code
            # A queued job's step here only stops runs; its launch comes with --wait.
            failed = failures(outcomes, queued="cancel(s)")
            unsucceeded: list[str] = []
            if wait:
                deadline = time.monotonic() + timeout
                first = len(outcomes)
                outcomes = _drain(live, desired, outcomes, connection=connection, root=root,
                                  deadline=deadline, console=console, stop=interrupt.stop)
                failed += failures(outcomes[first:], queued="launch(es)")
                unsucceeded, latest = _wait(outcomes, connection, deadline, console,
                                            interrupt.stop)
                if interrupt.signal:
                    _left_running(outcomes, latest, connection,
                                  signal.Signals(interrupt.signal).name, console)
                    return interrupt.exit_code
    reasons += failure_reasons(failed)
    if unsucceeded:
        reasons.append(_named("job(s) did not succeed", unsucceeded))
    if live.targets:
        console.print(f"\n[yellow]Warning:[/] {escape.markup(render.APPLIED_TARGET_WARNING)}",
                      highlight=False)
    render.print_exit_reasons(reasons, console)
    return 1 if reasons else 0
