"""SQLite plumbing: schema and short-lived transactions on `{state_dir}/emulator.sqlite`.

Several processes (the CLI, a test, `reconcile emulator serve`) share one file, so every
read-modify-write runs under `BEGIN IMMEDIATE`: SQLite then admits one writer at a time and the
others wait on busy_timeout instead of failing. One connection per transaction keeps this safe
across gRPC worker threads without any connection sharing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DB_FILE = "emulator.sqlite"
BUSY_TIMEOUT_SECONDS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY,
    parent TEXT NOT NULL,
    job_id TEXT NOT NULL,
    location TEXT NOT NULL,
    state INTEGER NOT NULL,
    create_time REAL NOT NULL,
    -- Duration fixed at creation so a job's schedule never shifts between servers.
    job_seconds REAL NOT NULL,
    cancel_time REAL,
    -- A google.rpc.Status decided at create (bad dataset): the run ends FAILED with it.
    failure BLOB,
    display_name TEXT NOT NULL,
    labels TEXT NOT NULL,
    proto BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_parent ON jobs (parent, create_time, name);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state);
CREATE TABLE IF NOT EXISTS tuning_jobs (
    name TEXT PRIMARY KEY,
    parent TEXT NOT NULL,
    state INTEGER NOT NULL,
    create_time REAL NOT NULL,
    job_seconds REAL NOT NULL,
    cancel_time REAL,
    failure BLOB,
    labels TEXT NOT NULL,
    proto BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS tuning_jobs_by_parent ON tuning_jobs (parent, create_time, name);
CREATE INDEX IF NOT EXISTS tuning_jobs_by_state ON tuning_jobs (state);
CREATE TABLE IF NOT EXISTS models (
    name TEXT PRIMARY KEY,
    parent TEXT NOT NULL,
    create_time REAL NOT NULL,
    display_name TEXT NOT NULL,
    labels TEXT NOT NULL,
    proto BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS models_by_parent ON models (parent, create_time, name);
CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY,
    parent TEXT NOT NULL,
    create_time REAL NOT NULL,
    display_name TEXT NOT NULL,
    labels TEXT NOT NULL,
    proto BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS endpoints_by_parent ON endpoints (parent, create_time, name);
CREATE TABLE IF NOT EXISTS operations (name TEXT PRIMARY KEY, proto BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS calls (method TEXT PRIMARY KEY, count INTEGER NOT NULL);
"""


class Database:
    """Opens short transactions on one SQLite file; creates the schema on first use."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / DB_FILE
        with self._connect() as conn:
            # WAL lets readers proceed while a writer holds the lock; it is a property of the
            # file, so setting it once per open is enough and idempotent.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
            _add_missing_columns(conn)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # timeout= is SQLite's busy_timeout: wait for another writer instead of failing.
        # isolation_level=None: we issue BEGIN ourselves so the lock mode is explicit.
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A transaction holding the write lock from its first statement to commit."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for reads that change nothing."""
        with self._connect() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("ROLLBACK")


def get_setting(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def put_setting(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Upgrades a state_dir written by an older emulator (CREATE IF NOT EXISTS adds no column)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
    if "failure" not in columns:
        try:
            conn.execute("ALTER TABLE jobs ADD COLUMN failure BLOB")
        except sqlite3.OperationalError as err:  # another process upgraded it just now
            if "duplicate column" not in str(err):
                raise
