"""EmulatorStore: the state of one emulator and the controls tests and the CLI steer it by.

All Vertex AI state lives in `{state_dir}/emulator.sqlite`, shared by processes. Each
service's resources are read through its own store (`PipelineJobs(store)`, `Models(store)`,
...); this one keeps what is everyone's: the clock, injected faults, quota, quirks and call
counts. Job lifecycles advance lazily: every read first advances the jobs concerned inside
the same write transaction, so whichever process reads first does it, once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.emulator import clock, quota, ratequota
from reconciler.emulator.all_services import SERVICES
from reconciler.emulator.db import get_setting, put_setting
from reconciler.emulator.faults import FAULTS_KEY, Draw, Faults
from reconciler.emulator.quirks import QUIRKS_KEY, Quirks
from reconciler.emulator.service import State
from reconciler.emulator.tables import next_counter, stored_quirks

_DRAWS_KEY = "fault_draws"
# Creates held (Faults.hold_creates_for) that have arrived, and that have been served.
_HELD_KEY = "held_creates"
_SERVED_KEY = "held_creates_served"
# A held create is served after this long even if the others never came, so a test that got
# its race wrong fails on its assertions instead of hanging. Long enough for a second apply
# process to start on a loaded machine; tuneops sends a create with no deadline.
HOLD_SECONDS = 120.0
_HOLD_POLL_SECONDS = 0.01


class EmulatorStore(State):
    """State of one emulator, usable from any process that has the same `state_dir`."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir, SERVICES)

    # -- clock -------------------------------------------------------------------------------

    def now(self) -> float:
        with self.db.read() as conn:
            return clock.clock_now(conn)

    def advance_clock(self, seconds: float) -> None:
        with self.db.write() as conn:
            clock.advance(conn, seconds)

    # -- faults, quota, quirks and call counts -------------------------------------------------

    def set_faults(
        self,
        *,
        unavailable_rate: float = 0.0,
        resource_exhausted_rate: float = 0.0,
        drop_create_response_rate: float = 0.0,
        seed: int | None = None,
        create_latency_seconds: float = 0.0,
        operation_seconds: float = 0.0,
        latency_seconds: float = 0.0,
        jitter_seconds: float = 0.0,
        hold_creates_for: int = 0,
    ) -> None:
        faults = Faults(unavailable_rate, resource_exhausted_rate, drop_create_response_rate, seed,
                        create_latency_seconds, latency_seconds, jitter_seconds,
                        operation_seconds=operation_seconds, hold_creates_for=hold_creates_for)
        with self.db.write() as conn:
            put_setting(conn, FAULTS_KEY, faults.to_json())
            for key in (_DRAWS_KEY, _HELD_KEY, _SERVED_KEY):
                put_setting(conn, key, "0")

    def faults(self) -> Faults:
        with self.db.read() as conn:
            return Faults.from_json(get_setting(conn, FAULTS_KEY))

    def set_quota(self, limits: quota.Limits) -> None:
        """How many jobs of each kind may run at once per location (see quota.py)."""
        with self.db.write() as conn:
            quota.save(conn, limits)

    def quota(self) -> quota.Limits:
        with self.db.read() as conn:
            return quota.load(conn)

    def set_submission_rate(self, per_minute: int | None) -> None:
        """How many job and LRO submissions a project may make per minute in a region (None:
        any number; see ratequota.py)."""
        with self.db.write() as conn:
            ratequota.save(conn, per_minute)

    def submission_rate(self) -> int | None:
        with self.db.read() as conn:
            return ratequota.load(conn)

    def admit_submission(self, target: str) -> None:
        with self.db.write() as conn:
            ratequota.admit(conn, target, clock.clock_now(conn))

    def set_quirks(self, **switches: Any) -> None:
        """Picks how the service behaves where its documentation leaves it open
        (quirks.Quirks; a switch not named takes its default).

        Each applies from now on: what is already registered or listed stays.
        """
        quirks = Quirks(**switches)
        with self.db.write() as conn:
            put_setting(conn, QUIRKS_KEY, quirks.to_json())

    def quirks(self) -> Quirks:
        with self.db.read() as conn:
            return stored_quirks(conn)

    def begin_call(self, method: str, target: str = "", *,
                   droppable: bool = False) -> tuple[int, Draw]:
        """Logs one received RPC (on `target`, its request's parent or name) as started now,
        and draws its injected fault and latency. Returns the log entry's id for end_call."""
        with self.db.write() as conn:
            entry = conn.execute(
                "INSERT INTO call_log (method, target, started) VALUES (?, ?, ?)",
                (method, target, time.monotonic()),
            ).lastrowid
            faults = Faults.from_json(get_setting(conn, FAULTS_KEY))
            draw = next_counter(conn, _DRAWS_KEY, 0)
            return int(entry or 0), faults.draw(draw, droppable=droppable)

    @contextmanager
    def held(self, count: int) -> Iterator[None]:
        """Holds a create until `count` creates have arrived since the faults were set, then
        lets it through once those that arrived before it have been served."""
        with self.db.write() as conn:
            ticket = next_counter(conn, _HELD_KEY, 0)
        deadline = time.monotonic() + HOLD_SECONDS
        while time.monotonic() < deadline:
            with self.db.read() as conn:
                arrived = int(get_setting(conn, _HELD_KEY) or 0)
                served = int(get_setting(conn, _SERVED_KEY) or 0)
            if arrived >= count and served >= ticket:
                break
            # Another process's create is what this one waits for: only polling sees it.
            time.sleep(_HOLD_POLL_SECONDS)
        try:
            yield
        finally:
            with self.db.write() as conn:
                next_counter(conn, _SERVED_KEY, 0)

    def end_call(self, entry: int) -> None:
        """Logs the call begin_call logged as `entry` as answered (or aborted) now."""
        with self.db.write() as conn:
            conn.execute("UPDATE call_log SET ended = ? WHERE id = ?", (time.monotonic(), entry))

    def calls(self) -> dict[str, int]:
        """RPCs received per method name (e.g. "ListModels"), faulted ones included."""
        with self.db.read() as conn:
            return dict(conn.execute(
                "SELECT method, COUNT(*) FROM call_log GROUP BY method ORDER BY 1"))

    def call_log(self) -> list[LoggedCall]:
        """Every RPC received, in the order received, with when it started and ended
        (time.monotonic(), the same clock in every process of the machine)."""
        with self.db.read() as conn:
            return [LoggedCall(*row) for row in conn.execute(
                "SELECT method, target, started, ended FROM call_log ORDER BY id")]

    def reset_calls(self) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM call_log")


@dataclass(frozen=True)
class LoggedCall:
    """One RPC of the call log; `ended` is None while it is being served."""

    method: str
    target: str
    started: float
    ended: float | None
