"""`reconcile resolve NAME [--channel C]`: the Model and Endpoint a job's channel points to.

An application or a deploy step resolves the channel instead of hard-coding an endpoint.
Only the staging bucket is read (one list call): the channel's pointer is the truth.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from reconciler.connect import connect
from reconciler.core.channels import Promoted, score_text
from reconciler.core.resources import id_of
from reconciler.errors import TuneopsError
from reconciler.load.config import load_target
from reconciler.output import escape
from reconciler.output.formats import StatusOutput
from reconciler.output.text import print_lines

Output = StatusOutput


def _pick(name: str, channel: str | None, channels: dict[str, Promoted],
          names: dict[str, str]) -> Promoted:
    """The pointer of `channel` (it must resolve to `name`'s run), or `name`'s only one."""
    def job_of(now: Promoted) -> str:
        # A run renamed since its promotion belongs to its name now.
        return names.get(now.run.path(), now.name)

    if channel is not None:
        now = channels.get(channel)
        if now is None:
            raise TuneopsError(f"{name}: nothing is promoted to {channel}")
        if job_of(now) != name:
            raise TuneopsError(f"{name}: {channel} is promoted from {job_of(now)}, not {name}")
        return now
    found = sorted((c, now) for c, now in channels.items() if job_of(now) == name)
    if not found:
        raise TuneopsError(f"{name}: nothing is promoted to any channel")
    if len(found) > 1:
        raise TuneopsError(f"{name}: promoted to {', '.join(c for c, _ in found)}; pass "
                           "--channel")
    return found[0][1]


def resolve_command(*, root: Path, name: str, channel: str | None, output: Output,
                    console: Console) -> int:
    with connect(load_target(root), root) as connection:
        records, evaluations = connection.backend.records.read()
    names = {key.path(): current for key, current in records.names.items()}
    now = _pick(name, channel, dict(evaluations.channels), names)
    if output == "json":
        print(json.dumps({
            "name": name, "channel": now.channel, "model": now.model,
            "endpoint": now.endpoint, "job": now.job, "run": now.run.path(),
            "fingerprint": now.run.fingerprint, "attempt": now.run.attempt,
            "metric": now.scoring.metric, "score": now.score,
            "evaluation_dataset": now.scoring.dataset, "promoted_at": now.since}))
        return 0
    # The name was typed and the rest read from the bucket: shown as they are, never as markup.
    print_lines([escape.markup(line) for line in (
        f"{name} → {now.channel}: run {id_of(now.job)}, {now.scoring.metric} "
        f"{score_text(now.score)}", f"model: {now.model}", f"endpoint: {now.endpoint}")],
        console)
    return 0
