"""Concurrent-job quota per location and kind of job, as a persisted setting.

Vertex AI refuses a create past a project's quota with RESOURCE_EXHAUSTED naming the quota
metric ("The following quota metrics exceed quota limits: ..."), and the reference warns to
"make sure you have enough quota". A service counts its unfinished jobs in a location inside
the create's own transaction, so racing creates never pass the limit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from reconciler.emulator.db import get_setting, put_setting
from reconciler.emulator.errors import EmulatorError

QUOTA_KEY = "quota"
# location -> kind of job -> how many may run at once (absent: no limit)
Limits = dict[str, dict[str, int]]


@dataclass(frozen=True)
class Metric:
    """What one service's jobs draw on."""

    # The kind of job, as a quota names it (`reconcile emulator quota LOCATION:KIND=N`).
    kind: str
    # The quota metric the refusal names.
    name: str


def load(conn: sqlite3.Connection) -> Limits:
    text = get_setting(conn, QUOTA_KEY)
    return json.loads(text) if text else {}


def save(conn: sqlite3.Connection, limits: Limits) -> None:
    put_setting(conn, QUOTA_KEY, json.dumps(limits, sort_keys=True))


def check(conn: sqlite3.Connection, metric: Metric, location: str,
          count_running: Callable[[], int]) -> None:
    """Raises RESOURCE_EXHAUSTED when one more job in `location` would pass quota; counts
    the jobs running there only when a limit is set."""
    limit = load(conn).get(location, {}).get(metric.kind)
    if limit is None:
        return
    running = count_running()
    if running >= limit:
        raise EmulatorError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"The following quota metrics exceed quota limits: {metric.name} "
            f"(limit {limit} in {location}, {running} in use)",
        )
