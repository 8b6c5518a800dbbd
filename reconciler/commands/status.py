"""`reconcile status`: managed jobs and Models as they are now."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from reconciler.connect import connect
from reconciler.core.channels import Evaluations, score_text
from reconciler.core.desired import Target
from reconciler.core.identity import key_of
from reconciler.core.observed import ObservedJob
from reconciler.core.resources import id_of
from reconciler.errors import ConfigError
from reconciler.load.config import load_config, load_target
from reconciler.output.formats import StatusOutput

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


def _evaluations_json(jobs: list[ObservedJob], evaluations: Evaluations) -> dict[str, object]:
    """Each channel's run and every score, by the job id of the run they are of."""
    job_ids = {key_of(job): job.job_id for job in jobs}
    return {
        "channels": [{"channel": channel, "name": now.name, "job_id": id_of(now.job),
                      "model": now.model, "endpoint": now.endpoint, "metric":
                      now.scoring.metric, "score": now.score}
                     for channel, now in sorted(evaluations.channels.items())],
        "scores": [{"job_id": job_ids.get(key, ""), "run": key.path(),
                    "evaluation_dataset": scoring.dataset, "metric": scoring.metric,
                    "score": score}
                   for (key, scoring), score in sorted(evaluations.scores.items())],
    }


def _scores_table(jobs: list[ObservedJob], evaluations: Evaluations) -> Table:
    table = Table("name", "job", "metric", "evaluation dataset", "score", title="Scores")
    for job in jobs:
        key = key_of(job)
        for (run, scoring), score in sorted(evaluations.scores.items()):
            if run == key:
                table.add_row(job.name, job.job_id, scoring.metric, scoring.dataset[:12],
                              score_text(score))
    return table


def status_command(*, root: Path, output: Output, console: Console) -> int:
    # Status reads no datasets: only where the jobs run matters here.
    with connect(_target(root), root) as connection:
        observed = connection.backend.observe()
    jobs = sorted(observed.jobs, key=lambda j: (j.name, j.create_time))
    models = sorted(observed.models, key=lambda m: (m.name, m.resource))
    evaluations = observed.evaluations
    if output == "json":
        console.print_json(json.dumps({"jobs": [asdict(j) for j in jobs],
                                       "models": [asdict(m) for m in models],
                                       **_evaluations_json(jobs, evaluations)}))
        return 0
    table = Table("name", "kind", "job", "state", "fingerprint", "created", "promoted to",
                  title="Jobs")
    for job in jobs:
        table.add_row(job.name, job.kind, job.job_id, job.state.value, job.fingerprint[:12],
                      job.create_time[:19],
                      ", ".join(evaluations.channels_of(key_of(job))) or "-")
    console.print(table)
    if evaluations.scores:
        console.print(_scores_table(jobs, evaluations))
    models_table = Table("name", "model", "display name", "fingerprint", "endpoint",
                         title="Models")
    for model in models:
        models_table.add_row(model.name, id_of(model.resource),
                             model.display_name, model.fingerprint[:12],
                             ", ".join(id_of(e) for e in model.endpoints) or "-")
    console.print(models_table)
    return 0
