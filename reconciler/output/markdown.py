"""Plan -> Markdown for a pull request comment and the workflow's step summary.

GitHub refuses comments over 65,536 characters; the body is kept under a budget by
dropping per-job details from the end and saying so.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.core.estimate import describe as describe_totals
from reconciler.errors import Problem
from reconciler.output import evaluation
from reconciler.output.text import estimate_text, stop_lines, summary
from reconciler.plan.actions import (
    ACTION_KINDS,
    Action,
    Change,
    Evaluate,
    Queued,
    Rename,
    is_launch,
    promotion_of,
    stops,
)
from reconciler.plan.branch import BranchChange, describe
from reconciler.plan.planner import Plan

COMMENT_LIMIT = 65_536
# Room for the workflow's marker and footer around the plan.
BUDGET = 60_000
APPLY_HINT = ("Merging applies this plan (`reconcile apply --auto-approve` on main); "
              "`reconcile plan` shows it locally.")


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    text = " ".join(text.split()) if text else "(none)"
    if len(text) > 120:
        text = text[:117] + "..."
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


def _change_rows(changes: tuple[Change, ...]) -> list[str]:
    rows = ["| field | before | after | re-tunes |", "|---|---|---|---|"]
    rows += [f"| {_cell(c.field)} | {_cell(c.before)} | {_cell(c.after)} | "
             f"{'**yes**' if c.forces_retune else 'no'} |" for c in changes]
    return rows


def _details(action: Action) -> str:
    lines = [f"<details><summary><code>{action.name}</code>: {action.action}</summary>", ""]
    if action.changes:
        lines += [*_change_rows(action.changes), ""]
    if is_launch(action):
        then = "Waits for quota, then launches" if isinstance(action, Queued) else "Launches"
        lines.append(f"{then} {action.launch.summary}.")
    if isinstance(action, Rename):
        lines.append(f"Moves {len(action.runs)} run(s) of `{action.renamed_from}` to "
                     f"`{action.name}`; nothing is tuned.")
    lines += [f"{line[0].upper()}{line[1:]}." for line in evaluation.lines(action)]
    if isinstance(action, Evaluate) and action.estimate is not None:
        lines.append(f"{estimate_text(action.estimate).capitalize()}.")
    lines += [f"{line[0].upper()}{line[1:]}." for line in stop_lines(action)]
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _branch_section(changes: tuple[BranchChange, ...], base_ref: str) -> list[str]:
    lines = [f"**{describe(changes, base_ref).capitalize()}.**", ""]
    for change in changes:
        fields = ", ".join(f"`{c.field}`" for c in change.changes if c.forces_retune) or ", ".join(
            f"`{c.field}`" for c in change.changes)
        lines.append(f"- `{change.name}`: {change.change}" + (f" ({fields})" if fields else ""))
    return [*lines, ""]


def _warnings(warnings: tuple[Problem, ...]) -> list[str]:
    if not warnings:
        return []
    return ["#### Warnings", "", *[f"- `{w.location}`: {w.subject + ': ' if w.subject else ''}"
                                  f"{w.message}" for w in warnings], ""]


def _changing(action: Action) -> bool:
    return (bool(action.changes) or bool(stops(action)) or is_launch(action)
            or isinstance(action, Rename) or promotion_of(action) is not None
            or isinstance(action, Evaluate))


def _take(blocks: list[str], room: int) -> tuple[list[str], int]:
    """The leading blocks that fit in `room` characters, and how many were left out."""
    taken: list[str] = []
    for block in blocks:
        if len(block) + 1 > room:
            break
        taken.append(block)
        room -= len(block) + 1
    return taken, len(blocks) - len(taken)


def render(plan: Plan, *, branch: tuple[BranchChange, ...] | None = None, base_ref: str = "",
           budget: int = BUDGET) -> str:
    """The plan as Markdown, never longer than `budget`: jobs that change come first, and
    what does not fit is counted, not cut mid-way."""
    head = [f"### tuneops: {summary(plan)}", ""]
    if plan.totals.launches or plan.totals.evaluations:
        head += [f"**This plan {describe_totals(plan.totals)}.**", ""]
    head += [f"⛔ **Over budget:** {reason}; apply launches nothing without "
             "`--allow-over-budget`." for reason in plan.over_budget]
    if plan.over_budget:
        head.append("")
    if branch is not None:
        head += _branch_section(branch, base_ref)
    closing = "\n".join(["", *_warnings(plan.warnings), APPLY_HINT, ""])[: budget // 4]
    # Jobs that change first: when the list must be cut, the unchanged ones go.
    ordered = sorted(plan.actions, key=lambda action: not _changing(action))
    rows = [f"| {ACTION_KINDS[a.action].icon} | `{a.name}` | {a.action} | {_cell(a.reason)} |"
            for a in ordered]
    room = budget - len("\n".join(head)) - len(closing) - 400
    # The table may take most, not all, of the room: a reviewer needs some field diffs too.
    shown_rows, hidden_rows = _take(rows, room * 3 // 5)
    table = ["| | job | action | reason |", "|---|---|---|---|", *shown_rows]
    if hidden_rows:
        table += ["", f"_... and {hidden_rows} more jobs not listed to fit GitHub's comment "
                      "limit; `reconcile plan` lists them all._"]
    body = "\n".join([*head, *table, ""]) + "\n"
    changing = [_details(a) for a in ordered if _changing(a)]
    details, hidden = _take(changing, budget - len(body) - len(closing) - 200)
    if hidden:
        details.append(f"_Details of {hidden} more jobs are left out to fit GitHub's comment "
                       "limit; `reconcile plan` shows them._\n")
    return body + "".join(details) + closing
