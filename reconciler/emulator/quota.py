"""Concurrent-job quota per location and kind of job, as a persisted setting.

Vertex AI refuses a create past a project's quota with RESOURCE_EXHAUSTED naming the quota
metric ("The following quota metrics exceed quota limits: ..."), and the reference warns to
"make sure you have enough quota". The emulator counts the unfinished jobs of a kind in a
location inside the create's own transaction, so racing creates never pass the limit.
"""

from __future__ import annotations

import json
import sqlite3

import grpc

from reconciler.emulator.db import get_setting, put_setting
from reconciler.emulator.errors import EmulatorError

QUOTA_KEY = "quota"
# The metric each kind's runs draw on: a code-bison run takes eight A100 80 GB GPUs in
# us-central1 (64 TPU v3 cores in europe-west4); a Gemini tuning job one concurrent job.
METRICS = {
    "pipeline": "aiplatform.googleapis.com/restricted_image_training_nvidia_a100_80gb_gpus",
    "tuning-job": "aiplatform.googleapis.com/concurrent_tuning_jobs",
}
# location -> kind of job -> how many may run at once (absent: no limit)
Limits = dict[str, dict[str, int]]


def load(conn: sqlite3.Connection) -> Limits:
    text = get_setting(conn, QUOTA_KEY)
    return json.loads(text) if text else {}


def save(conn: sqlite3.Connection, limits: Limits) -> None:
    put_setting(conn, QUOTA_KEY, json.dumps(limits, sort_keys=True))


def check(conn: sqlite3.Connection, kind: str, location: str, running: int) -> None:
    """Raises RESOURCE_EXHAUSTED when one more `kind` job in `location` would pass quota."""
    limit = load(conn).get(location, {}).get(kind)
    if limit is not None and running >= limit:
        raise EmulatorError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"The following quota metrics exceed quota limits: {METRICS[kind]} "
            f"(limit {limit} in {location}, {running} in use)",
        )
