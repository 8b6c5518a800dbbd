"""The emulator clock: wall time plus an offset kept in SQLite.

Keeping the offset in the shared database means `advance_clock` from any process (a test, the
CLI) moves time for every server using the same state_dir; tests advance it instead of sleeping.
"""

from __future__ import annotations

import sqlite3
import time

from google.protobuf import timestamp_pb2

from reconciler.emulator.db import get_setting, put_setting

_OFFSET_KEY = "clock_offset"


def clock_now(conn: sqlite3.Connection) -> float:
    offset = get_setting(conn, _OFFSET_KEY)
    return time.time() + (float(offset) if offset is not None else 0.0)


def advance(conn: sqlite3.Connection, seconds: float) -> None:
    if seconds < 0:
        raise ValueError("the emulator clock only moves forward")
    offset = get_setting(conn, _OFFSET_KEY)
    put_setting(conn, _OFFSET_KEY, repr((float(offset) if offset else 0.0) + seconds))


def to_timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(round(seconds * 1e9))
    return stamp
