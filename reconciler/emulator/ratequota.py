"""The request quota of job and LRO submissions, enforced when a test or the CLI sets it.

Vertex AI allows 60 "Job or long-running operation (LRO) submission requests" per minute,
per region, per project (https://cloud.google.com/vertex-ai/docs/quotas, "Request quotas").
How it counts a minute is undocumented: here, the strictest way, any 60 seconds of the
emulator's clock (so `reconcile emulator advance 60` frees the window). What the refusal
carries is undocumented too: RESOURCE_EXHAUSTED, with the google.rpc details Google APIs
attach to a rate refusal (google/rpc/error_details.proto): a QuotaFailure naming the
quota per minute, an ErrorInfo with reason RATE_LIMIT_EXCEEDED, and a RetryInfo saying
when the window admits one more. Not set, nothing is counted.
"""

from __future__ import annotations

import math
import sqlite3

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

from reconciler.emulator.db import get_setting, put_setting
from reconciler.emulator.errors import EmulatorError
from reconciler.emulator.names import place_of

RATE_KEY = "submissions_per_minute"
WINDOW_SECONDS = 60.0
QUOTA = "Job or long-running operation (LRO) submission requests per minute per region"
DOMAIN = "aiplatform.googleapis.com"


def load(conn: sqlite3.Connection) -> int | None:
    text = get_setting(conn, RATE_KEY)
    return int(text) if text else None


def save(conn: sqlite3.Connection, per_minute: int | None) -> None:
    put_setting(conn, RATE_KEY, "" if per_minute is None else str(per_minute))


def admit(conn: sqlite3.Connection, target: str, now: float) -> None:
    """Counts one submission on `target` (its parent or resource name) at `now`, or refuses
    it with RESOURCE_EXHAUSTED when its project and region made the quota's worth in the
    last minute."""
    limit = load(conn)
    # A request names the project by id or number; both are one project's quota.
    place = place_of(target)
    if limit is None or place is None:
        return
    project, location = place
    conn.execute("DELETE FROM submissions WHERE at <= ?", (now - WINDOW_SECONDS,))
    times = [at for (at,) in conn.execute(
        "SELECT at FROM submissions WHERE project = ? AND location = ? ORDER BY at",
        (project, location))]
    if len(times) >= limit:
        wait = times[len(times) - limit] + WINDOW_SECONDS - now
        raise _refusal(project, location, limit, wait)
    conn.execute("INSERT INTO submissions (project, location, at) VALUES (?, ?, ?)",
                 (project, location, now))


def _refusal(project: str, location: str, limit: int, wait: float) -> EmulatorError:
    return EmulatorError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"Quota exceeded for quota metric '{QUOTA}' of service '{DOMAIN}' for consumer "
        f"'projects/{project}' in {location} (limit {limit})",
        details=(
            error_details_pb2.QuotaFailure(violations=[
                error_details_pb2.QuotaFailure.Violation(
                    subject=f"projects/{project}",
                    description=f"Quota exceeded: {QUOTA}, limit {limit} in {location}")]),
            error_details_pb2.ErrorInfo(reason="RATE_LIMIT_EXCEEDED", domain=DOMAIN, metadata={
                "quota_limit": QUOTA, "quota_limit_value": str(limit),
                "quota_location": location}),
            error_details_pb2.RetryInfo(
                retry_delay=duration_pb2.Duration(seconds=max(1, math.ceil(wait)))),
        ))
