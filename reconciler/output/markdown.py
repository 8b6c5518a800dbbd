"""Plan -> Markdown for a pull request comment and the workflow's step summary.

GitHub refuses a comment over 65,536 characters. The body is kept within COMMENT_BYTES
(bytes, so characters too) less what the action adds around it, in whole blocks: what does
not fit is counted and said, and no cut leaves a `<details>` open. Every value from the
repository or the service goes through reconciler.output.escape.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from reconciler.core.estimate import describe as describe_totals
from reconciler.errors import ConfigError, Problem, TuneopsError, one_line
from reconciler.output import escape, evaluation
from reconciler.output.text import (
    TARGET_WARNING,
    attribute_block,
    dataset_change_text,
    estimate_text,
    retired_line,
    stop_lines,
    summary,
)
from reconciler.plan.actions import (
    ACTION_KINDS,
    Action,
    Change,
    Create,
    Evaluate,
    Queued,
    Rename,
    is_launch,
    promotion_of,
)
from reconciler.plan.branch import BRANCH_WORDS, Branch, BranchChange, describe
from reconciler.plan.planner import Plan

# The one limit of a plan comment, in bytes: GitHub's, in characters, which no more bytes
# can exceed. The action (action.yml) adds a marker line and a footer of at most
# ACTION_WRAPPER_BYTES and never cuts what tuneops rendered.
COMMENT_BYTES = 65_536
ACTION_WRAPPER_BYTES = 1_024
BODY_BYTES = COMMENT_BYTES - ACTION_WRAPPER_BYTES
# Room kept for the lines that say what was left out.
_NOTES_BYTES = 1_024
CELL_CHARS = 120


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _size(block: str) -> int:
    return len(block.encode("utf-8")) + 1  # and its newline


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value or "(none)"
    return json.dumps(value)


def _cell(value: Any) -> str:
    """A value in a table cell: one line, cut to CELL_CHARS, verbatim in a code span."""
    text = " ".join(one_line(_value(value)).split()) or "(none)"
    if len(text) > CELL_CHARS:
        text = text[:CELL_CHARS - 1] + "…"
    return escape.code(text, in_table=True)


def _change_rows(changes: tuple[Change, ...]) -> list[str]:
    rows = ["| field | before | after | re-tunes |", "|---|---|---|---|"]
    rows += [f"| {_cell(c.field)} | {_cell(c.before)} | {_cell(c.after)} | "
             f"{'**yes**' if c.forces_retune else 'no'} |" for c in changes]
    return rows


def _details(action: Action) -> str:
    # An HTML block ends at the blank line after the summary; Markdown follows.
    lines = [f"<details><summary>{escape.html_code(action.name)}: "
             f"{escape.html_text(action.action)}</summary>", ""]
    if action.changes:
        lines += [*_change_rows(action.changes), ""]
    if is_launch(action):
        then = "Waits for quota, then launches" if isinstance(action, Queued) else "Launches"
        lines.append(f"{then} {escape.markdown(action.launch.summary)}.")
        attributes = action.attributes if isinstance(action, Create | Queued) else ()
        if attributes:
            lines += ["", escape.fence("\n".join(attribute_block(attributes)), "diff"), ""]
        if action.estimate is not None:
            lines.append(f"{_sentence(escape.markdown(estimate_text(action.estimate)))}.")
    if isinstance(action, Rename):
        lines.append(f"Moves {len(action.runs)} run(s) of {escape.code(action.renamed_from)} "
                     f"to {escape.code(action.name)}; nothing is tuned.")
    lines += [f"{_sentence(escape.markdown(line))}." for line in evaluation.lines(action)]
    if isinstance(action, Evaluate) and action.estimate is not None:
        lines.append(f"{_sentence(escape.markdown(estimate_text(action.estimate)))}.")
    lines += [f"{_sentence(line)}." for line in stop_lines(action, escape.code,
                                                          escape.markdown)]
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _branch_lines(change: BranchChange) -> list[str]:
    fields = [c.field for c in change.changes if c.forces_retune] or [
        c.field for c in change.changes]
    shown = f" ({', '.join(escape.code(f) for f in fields)})" if fields else ""
    lines = [f"- {escape.code(change.name)}: {BRANCH_WORDS[change.change]}{shown}"]
    lines += [f"  - {escape.markdown(line)}" for line in dataset_change_text(change)]
    return lines


def _warning(warning: Problem) -> str:
    subject = f"{warning.subject}: " if warning.subject else ""
    return f"- {escape.code(warning.location)}: {escape.markdown(subject + warning.message)}"


def _changing(action: Action) -> bool:
    return (bool(action.changes) or bool(stop_lines(action)) or is_launch(action)
            or isinstance(action, Rename) or promotion_of(action) is not None
            or isinstance(action, Evaluate))


def _take(blocks: list[str], room: int) -> tuple[list[str], int]:
    """The leading blocks that fit in `room` bytes, and how many were left out."""
    taken: list[str] = []
    for block in blocks:
        if _size(block) > room:
            break
        taken.append(block)
        room -= _size(block)
    return taken, len(blocks) - len(taken)


def footer(plan: Plan) -> str:
    """What merging this pull request will really do."""
    if plan.over_budget:
        return ("**Merging applies nothing:** the apply on the default branch refuses a plan "
                "over budget and fails, launching and updating nothing, until `budget:` in "
                "`configs/reconciler.yaml` is raised (or someone runs `reconcile apply "
                "--allow-over-budget`). `reconcile plan` shows it locally.")
    refused, failed = plan.counts.get("refused", 0), plan.counts.get("failed", 0)
    tail = f" {refused} refused job(s) launch nothing and make the apply fail." if refused else ""
    # What `needs_attention` adds to the changes: the drift check's exit code says the same.
    if failed:
        tail += (f" {failed} failed job(s) stay failed (only `reconcile apply --retry-failed` "
                 "relaunches them) and fail the daily drift check until then.")
    if not plan.has_changes:
        return f"Merging changes nothing in Vertex AI.{tail} `reconcile plan` shows it locally."
    return ("Merging applies this plan (`reconcile apply --auto-approve` on the default "
            f"branch).{tail} `reconcile plan` shows it locally.")


def _head(plan: Plan) -> list[str]:
    head = [f"### tuneops: {summary(plan)}", ""]
    if plan.targets:
        head += [f"⚠️ **{escape.markdown(TARGET_WARNING)}** Targets: "
                 + ", ".join(escape.code(name) for name in plan.targets) + ".", ""]
    if plan.totals.launches or plan.totals.evaluations:
        # Counts and amounts tuneops computed: nothing of the repository's in them.
        head += [f"**This plan {describe_totals(plan.totals)}.**", ""]
    head += [f"⛔ **Over budget:** {escape.markdown(reason)}; apply launches nothing without "
             "`--allow-over-budget`." for reason in plan.over_budget]
    if plan.over_budget:
        head.append("")
    return head


def _warnings(plan: Plan, branch: Branch | None, room: int) -> list[str]:
    """The warnings, those about jobs the branch does not change collapsed, within `room`."""
    quiet = set(branch.untouched) if branch is not None else set()
    loud = [_warning(w) for w in plan.warnings if w not in quiet]
    hushed = [_warning(w) for w in plan.warnings if w in quiet]
    blocks: list[str] = []
    shown, left = _take(loud, room // 2 if hushed else room)
    if loud:
        blocks += ["#### Warnings", "", *shown]
        if left:
            blocks.append(f"- _… and {left} more; `reconcile validate` lists them all._")
        blocks.append("")
    if hushed:
        used = sum(map(_size, blocks))
        kept, rest = _take(hushed, room - used - 400)
        if rest:
            kept.append(f"- _… and {rest} more; `reconcile validate` lists them all._")
        noun = "warning" if len(hushed) == 1 else "warnings"
        blocks += [f"<details><summary>{len(hushed)} {noun} about jobs this pull request "
                   "does not change</summary>", "", *kept, "", "</details>", ""]
    return blocks


def render(plan: Plan, *, branch: Branch | None = None, budget: int = BODY_BYTES) -> str:
    """The plan as Markdown of at most `budget` bytes: jobs that change come first, and
    what does not fit is counted, never cut mid-way."""
    head = _head(plan)
    retired = [f"_{escape.markdown(retired_line(plan))}._", ""] if plan.retired else []
    closing = ["", *retired, footer(plan), ""]
    room = budget - sum(map(_size, head)) - sum(map(_size, closing)) - _NOTES_BYTES
    warnings = _warnings(plan, branch, room // 5)
    room -= sum(map(_size, warnings))
    if branch is not None:
        lines = [line for change in branch.changes for line in _branch_lines(change)]
        taken, left = _take(lines, room // 4)
        head += [f"**{_sentence(escape.markdown(describe(branch.changes, branch.base_ref)))}"
                 ".**", "", *taken]
        if left:
            head.append(f"- _… and {left} more lines; `reconcile plan --base` shows them._")
        head.append("")
        room -= sum(map(_size, taken))
    # Jobs that change first: when the list must be cut, the unchanged ones go.
    ordered = sorted(plan.actions, key=lambda action: not _changing(action))
    rows = [f"| {ACTION_KINDS[a.action].icon} | {escape.code(a.name, in_table=True)} | "
            f"{a.action} | {_cell(a.reason)} |" for a in ordered]
    # The table may take most, not all, of the room: a reviewer needs some details too.
    shown_rows, hidden_rows = _take(rows, room * 3 // 5)
    room -= sum(map(_size, shown_rows))
    table = ["| | job | action | reason |", "|---|---|---|---|", *shown_rows]
    if hidden_rows:
        table += ["", f"_… and {hidden_rows} more jobs not listed to fit GitHub's comment "
                      "limit; `reconcile plan` lists them all._"]
    details, hidden = _take([_details(a) for a in ordered if _changing(a)], room)
    if hidden:
        details.append(f"_Details of {hidden} more jobs are left out to fit GitHub's comment "
                       "limit; `reconcile plan` shows them._\n")
    # Each block ends with a blank line: an HTML block (`</details>`) ends only at one.
    return "\n".join([*head, *table, ""]) + "\n" + "".join(details) + "\n" + "\n".join(
        [*warnings, *closing])


def failure(error: TuneopsError, budget: int = BODY_BYTES) -> str:
    """A plan that could not be made, for the comment: each problem verbatim in a code
    block no line of theirs can close."""
    if isinstance(error, ConfigError):
        count = len(error.problems)
        title = f"{count} error{'s' if count != 1 else ''}; {error.consequence}"
        lines = [one_line(problem) for problem in error.problems]
    else:
        title = "nothing was launched"
        lines = [one_line(error)]
    head = f"### ❌ tuneops: the plan failed: {escape.markdown(title)}.\n"
    room = budget - _size(head) - _NOTES_BYTES
    shown, left = _take(lines, room)
    if left:
        shown.append(f"... and {left} more; `reconcile validate` lists them all")
    return head + "\n" + escape.fence("\n".join(shown)) + "\n"


@contextmanager
def failure_as_comment(enabled: bool) -> Iterator[None]:
    """With --output markdown, a plan that fails still prints the comment saying why."""
    try:
        yield
    except TuneopsError as error:
        if enabled:
            print(failure(error))
        raise
