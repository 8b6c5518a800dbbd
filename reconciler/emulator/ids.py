"""Numeric resource ids, handed out from counters in the settings table.

Vertex ids are large numbers; distinct starting points keep the kinds visibly apart. Tuning
job ids are 19-digit numbers like the real service's (`.../tuningJobs/1234567890123456789`).
"""

from __future__ import annotations

import sqlite3

from reconciler.emulator.registration import Ids
from reconciler.emulator.tables import next_counter

MODEL = ("next_model_id", 1_000_000_000_000_000_001)
ENDPOINT = ("next_endpoint_id", 2_000_000_000_000_000_001)
DEPLOYED_MODEL = ("next_deployed_model_id", 3_000_000_000_000_000_001)
BILLING = ("next_billing_id", 4_000_000_000_000_000_001)
TUNING_JOB = ("next_tuning_job_id", 5_000_000_000_000_000_001)


def next_id(conn: sqlite3.Connection, kind: tuple[str, int]) -> int:
    key, first = kind
    return next_counter(conn, key, first)


def registration_ids(conn: sqlite3.Connection) -> Ids:
    """Fresh ids for one Model deployed to one new Endpoint."""
    return Ids(
        str(next_id(conn, MODEL)), str(next_id(conn, ENDPOINT)), str(next_id(conn, DEPLOYED_MODEL))
    )
