"""`reconcile status`: managed jobs and Models as they are now."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from reconciler.connect import connect
from reconciler.core.desired import Target
from reconciler.core.observed import JobState, ObservedJob
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


def status_command(*, root: Path, output: Output, console: Console) -> int:
    # Status reads no datasets: only where the jobs run matters here.
    with connect(_target(root), root) as connection:
        observed = connection.backend.observe()
    jobs = sorted(observed.jobs, key=lambda j: (j.name, j.create_time))
    models = sorted(observed.models, key=lambda m: (m.name, m.resource))
    if output == "json":
        console.print_json(json.dumps({"jobs": [asdict(j) for j in jobs],
                                       "models": [asdict(m) for m in models]}))
        return 0
    table = Table("name", "kind", "job", "state", "fingerprint", "created", "the service says",
                  title="Jobs")
    for job in jobs:
        table.add_row(job.name, job.kind, job.job_id, _state(job), job.fingerprint[:12],
                      job.create_time[:19], "; ".join(job.notes) or "-")
    console.print(table)
    models_table = Table("name", "model", "display name", "fingerprint", "endpoint",
                         title="Models")
    for model in models:
        endpoints = ", ".join(id_of(e) for e in model.endpoints) or "-"
        models_table.add_row(model.name, id_of(model.resource), model.display_name,
                             model.fingerprint[:12],
                             f"{endpoints} (retired: the service would not delete it)"
                             if model.retired else endpoints)
    console.print(models_table)
    return 0


def _state(job: ObservedJob) -> str:
    if job.state == JobState.QUEUED:
        return "queued (the service holds it for quota)"
    return job.state.value
