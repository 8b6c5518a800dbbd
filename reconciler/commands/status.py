"""`reconcile status [NAME]`: managed jobs and Models as they are now."""

from __future__ import annotations

import difflib
import json
import sys
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from reconciler.connect import connect
from reconciler.core.channels import Evaluations
from reconciler.core.desired import Target
from reconciler.core.identity import key_of
from reconciler.core.resources import id_of
from reconciler.errors import ConfigError, TuneopsError
from reconciler.load.config import load_config, load_target
from reconciler.output import escape
from reconciler.output.formats import StatusOutput
from reconciler.output.status import NameState, by_name, print_status

Output = StatusOutput


def _target(root: Path) -> Target:
    """Status only reads: it works while a job config is invalid, and says so in one line."""
    try:
        return load_config(root).target
    except ConfigError as error:
        target = load_target(root)  # invalid settings leave nowhere to look: that error
        count = len(error.problems)
        print(f"reconcile: warning: the configs have {count} error{'s' if count != 1 else ''} "
              f"(`reconcile validate` lists them); showing what exists", file=sys.stderr)
        return target


def _evaluations_json(states: list[NameState], evaluations: Evaluations, *, every: bool
                      ) -> dict[str, object]:
    """Each channel's run and every score, by the job id of the run they are of: of the
    runs shown, or (`every`) all that are recorded."""
    job_ids = {key_of(job): job.job_id for state in states for job in state.runs}
    return {
        "channels": [{"channel": channel, "name": now.name, "job_id": id_of(now.job),
                      "model": now.model, "endpoint": now.endpoint, "metric":
                      now.scoring.metric, "score": now.score}
                     for channel, now in sorted(evaluations.channels.items())
                     if every or now.run in job_ids],
        "scores": [{"job_id": job_ids.get(key, ""), "run": key.path(),
                    "evaluation_dataset": scoring.dataset, "metric": scoring.metric,
                    "score": score}
                   for (key, scoring), score in sorted(evaluations.scores.items())
                   if every or key in job_ids],
    }


def status_command(*, root: Path, output: Output, console: Console,
                   name: str | None = None) -> int:
    # Status reads no datasets: only where the jobs run matters here.
    with connect(_target(root), root) as connection:
        observed = connection.backend.observe()
    states = by_name(observed)
    if name is not None:
        # A renamed job's runs are under its new name (as observing reads the records); its
        # old name finds them too.
        states = [state for state in states if state.name == name
                  or any(run.launched_as == name for run in state.runs)]
        if not states:
            known = sorted({job.name for job in observed.jobs}
                           | {model.name for model in observed.models})
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise TuneopsError(f"no run or Model of a job named {name!r} in Vertex AI{hint}")
    if output == "json":
        # Oldest run first, as before; `current` marks what `*` marks in the text.
        console.print_json(json.dumps({
            "jobs": [asdict(job) | {"current": job.resource == state.current_run}
                     for state in states for job in reversed(state.runs)],
            "models": [asdict(model) | {"current": model.resource == state.current_model}
                       for state in states for model in state.models],
            **_evaluations_json(states, observed.evaluations, every=name is None)}))
        return 0
    console.print(f"In {escape.markup(connection.where)}:", highlight=False)
    print_status(states, console, detailed=name is not None)
    return 0

