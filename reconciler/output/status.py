"""Observed state -> text: each name's runs and Models, whole ids at any terminal width.

A run's line holds its id, state, creation time and fingerprint when they fit the width;
otherwise the id has a line of its own and the rest follow beneath it, so no id or state
is ever cut. `*` marks each name's current run (the newest succeeded run whose Model
exists) and that Model. A renamed job's runs and Models are under its current name. A run
a channel points to says so on its line, and each of its scores has a line beneath it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.console import Console

from reconciler.core.channels import Scoring, score_text
from reconciler.core.identity import key_of
from reconciler.core.observed import JobState, Observed, ObservedJob, ObservedModel
from reconciler.core.resources import id_of
from reconciler.output import escape
from reconciler.output.text import print_lines

CURRENT = "*"


@dataclass(frozen=True)
class NameState:
    name: str
    kind: str
    runs: tuple[ObservedJob, ...]
    models: tuple[ObservedModel, ...]
    current_run: str | None
    current_model: str | None
    # By run resource: the channels it is the current run of, and its scores.
    promoted: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    scores: Mapping[str, tuple[tuple[Scoring, float], ...]] = field(default_factory=dict)


def by_name(observed: Observed) -> list[NameState]:
    """Each name's runs (newest first) and Models, with its current run and Model, and the
    channels and scores of its runs."""
    runs: dict[str, list[ObservedJob]] = defaultdict(list)
    models: dict[str, list[ObservedModel]] = defaultdict(list)
    for job in observed.jobs:
        runs[job.name].append(job)
    for model in observed.models:
        models[model.name].append(model)
    evaluations = observed.evaluations
    scored: dict[str, list[tuple[Scoring, float]]] = defaultdict(list)
    keys = {key_of(job): job.resource for job in observed.jobs}
    for (run, scoring), score in sorted(evaluations.scores.items()):
        if run in keys:
            scored[keys[run]].append((scoring, score))
    found = []
    for name in sorted(runs.keys() | models.keys()):
        history = sorted(runs[name], key=lambda j: (j.create_time, j.job_id), reverse=True)
        owned = sorted(models[name], key=lambda m: m.resource)
        # A retired Model serves nothing: no run is current through it.
        with_model = {m.fingerprint: m for m in owned if not m.retired}
        current = next((job for job in history if job.state == JobState.SUCCEEDED
                        and job.fingerprint in with_model), None)
        found.append(NameState(
            name=name, kind=history[0].kind if history else "",
            runs=tuple(history), models=tuple(owned),
            current_run=current.resource if current else None,
            current_model=with_model[current.fingerprint].resource if current else None,
            promoted={job.resource: channels for job in history
                      if (channels := evaluations.channels_of(key_of(job)))},
            scores={job.resource: tuple(scored[job.resource]) for job in history
                    if job.resource in scored}))
    return found


def _fitted(mark: str, head: str, rest: Sequence[str], width: int) -> list[str]:
    """`head` and `rest` on one line if it fits `width`, else `rest` beneath `head`."""
    marker = f"  {mark} " if mark else "    "
    line = marker + "  ".join([head, *rest])
    if cell_len(line) <= width:
        return [escape.markup(line)]
    return [escape.markup(marker + head), escape.markup("      " + " · ".join(rest))]


def _state(job: ObservedJob) -> str:
    # The service holds it (JOB_STATE_QUEUED) until the project's tuning quota frees a slot.
    return ("queued (the service holds it for quota)" if job.state == JobState.QUEUED
            else job.state.value)


def _run_lines(state: NameState, job: ObservedJob, width: int, detailed: bool) -> list[str]:
    mark = CURRENT if job.resource == state.current_run else ""
    created = job.create_time[:19].replace("T", " ") or "-"
    # A renamed run keeps the name it was launched under in its labels.
    renamed = [f"launched as {job.launched_as}"] if job.launched_as else []
    channels = state.promoted.get(job.resource, ())
    promoted = [f"promoted to {', '.join(channels)}"] if channels else []
    lines = _fitted(mark, job.job_id,
                    [_state(job), created, job.fingerprint[:12], *renamed, *promoted],
                    width)
    # What the service reports of its training data (tuning_data_stats): examples tuned,
    # dropped and billable tokens; a long line wraps at the terminal's width.
    if job.notes:
        lines.append(escape.markup(f"      the service says: {'; '.join(job.notes)}"))
    if detailed:
        lines += [escape.markup(f"      {what}: {value}") for what, value in (
            ("resource", job.resource), ("commit", job.commit), ("error", job.error),
            ("cancelled by tuneops", job.cancelled_by_tuneops)) if value]
    # An evaluation dataset by its content hash, as a fingerprint is shown.
    lines += [escape.markup(f"      score: {scoring.metric} {score_text(score)} on "
                            f"evaluation data {scoring.dataset[:12]}")
              for scoring, score in state.scores.get(job.resource, ())]
    return lines


def _model_lines(state: NameState, model: ObservedModel, width: int, detailed: bool
                 ) -> list[str]:
    mark = CURRENT if model.resource == state.current_model else ""
    endpoints = ", ".join(map(id_of, model.endpoints)) or "none"
    retired = ["retired: the service would not delete it"] if model.retired else []
    lines = _fitted(mark, id_of(model.resource),
                    [f'"{model.display_name}"', model.fingerprint[:12],
                     f"endpoints: {endpoints}", *retired], width)
    if detailed:
        lines.append(escape.markup(f"      resource: {model.resource}"))
        lines += [escape.markup(f"      endpoint: {endpoint}") for endpoint in model.endpoints]
        if model.description:
            lines.append(escape.markup(f"      description: {model.description}"))
    return lines


def print_status(states: list[NameState], console: Console, *, detailed: bool = False) -> None:
    width = console.width
    lines = [f"{CURRENT} marks each name's current run (its newest succeeded one with a Model) "
             "and that Model."]
    if any(state.promoted for state in states):
        lines.append("A run promoted to a channel names it: `reconcile resolve NAME` gives its "
                     "Model and Endpoint.")
    for state in states:
        kind = f" ({escape.markup(state.kind)})" if state.kind else ""
        lines += ["", f"[bold]{escape.markup(state.name)}[/]{kind}"]
        lines.append(f"  runs ({len(state.runs)}): id, state, created, fingerprint"
                     if state.runs else "  runs: none")
        for job in state.runs:
            lines += _run_lines(state, job, width, detailed)
        lines.append(f"  models ({len(state.models)}): id, display name, fingerprint, "
                     "endpoints" if state.models else "  models: none")
        for model in state.models:
            lines += _model_lines(state, model, width, detailed)
    if not states:
        lines.append("No jobs or Models managed by tuneops.")
    print_lines(lines, console)
