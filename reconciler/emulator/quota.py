"""Concurrent-job quota of a project, per location or global, as a persisted setting.

Vertex AI refuses a create past a project's quota with RESOURCE_EXHAUSTED naming the quota
metric ("The following quota metrics exceed quota limits: ..."), and the reference warns to
"make sure you have enough quota". The tuning-job quota is one number per project: "A quota
is enforced on the number of concurrent tuning jobs ... This is a global quota, shared across
all available regions and supported models" (Vertex AI, Gemini tuning, quota section);
accelerator quota, which a pipeline run draws on, is per region. A service counts its
unfinished jobs inside the create's own transaction, so racing creates never pass the limit.
Whether a create past quota is refused or queued, and what a refusal carries, are switches
(quirks.Quirks.quota_mode, quota_error).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Literal

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2

from reconciler.emulator.db import get_setting, put_setting
from reconciler.emulator.errors import EmulatorError
from reconciler.emulator.tables import stored_quirks

QUOTA_KEY = "quota"
# Where a global quota's limit is set: `reconcile emulator quota global:KIND=N`.
GLOBAL = "global"
# location (or "global") -> kind of job -> how many may run at once (absent: no limit)
Limits = dict[str, dict[str, int]]
# The quota metric of google.rpc.ErrorInfo's metadata, as Google APIs name it.
DOMAIN = "aiplatform.googleapis.com"


@dataclass(frozen=True)
class Metric:
    """What one service's jobs draw on."""

    # The kind of job, as a quota names it (`reconcile emulator quota LOCATION:KIND=N`).
    kind: str
    # The quota metric the refusal names.
    name: str
    # Per location, or one number for the project's jobs in every location.
    scope: Literal["location", "global"] = "location"

    def where(self, location: str) -> str:
        """The key of `Limits` its limit in `location` is set under."""
        return GLOBAL if self.scope == "global" else location

    def takes(self, where: str) -> bool:
        """Whether a limit may be set under `where` (a location, or `global`)."""
        return (where == GLOBAL) == (self.scope == "global")


def load(conn: sqlite3.Connection) -> Limits:
    text = get_setting(conn, QUOTA_KEY)
    return json.loads(text) if text else {}


def save(conn: sqlite3.Connection, limits: Limits) -> None:
    put_setting(conn, QUOTA_KEY, json.dumps(limits, sort_keys=True))


def limit_of(conn: sqlite3.Connection, metric: Metric, location: str) -> int | None:
    return load(conn).get(metric.where(location), {}).get(metric.kind)


def admit(conn: sqlite3.Connection, metric: Metric, location: str, project: str, *,
          running: int, waiting: int) -> bool:
    """Whether one more job runs now (True) or waits in the queue (False, quota_mode
    "queue"); RESOURCE_EXHAUSTED when the service refuses it. `running` and `waiting` are the
    project's jobs in the metric's scope that run, and that wait, now."""
    limit = limit_of(conn, metric, location)
    if limit is None or (running < limit and not waiting):
        return True
    quirks = stored_quirks(conn)
    if quirks.quota_mode == "queue":
        return False
    where = "all locations" if metric.scope == "global" else location
    text = (f"The following quota metrics exceed quota limits: {metric.name} "
            f"(limit {limit} in {where}, {running} in use)")
    if quirks.quota_error == "message":
        raise EmulatorError(grpc.StatusCode.RESOURCE_EXHAUSTED, text)
    raise EmulatorError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                        "Resource has been exhausted (e.g. check quota).",
                        details=_details(metric, project, limit, where))


def _details(metric: Metric, project: str, limit: int, where: str) -> tuple[Message, ...]:
    """What Google APIs attach to a quota error (google/rpc/error_details.proto): a
    QuotaFailure naming the violated quota and an ErrorInfo with its metric."""
    return (
        error_details_pb2.QuotaFailure(violations=[error_details_pb2.QuotaFailure.Violation(
            subject=f"projects/{project}",
            description=f"Quota {metric.name} of {limit} exceeded in {where}")]),
        error_details_pb2.ErrorInfo(reason="RESOURCE_EXHAUSTED", domain=DOMAIN, metadata={
            "quota_metric": metric.name, "quota_limit_value": str(limit),
            "quota_location": where}),
    )
