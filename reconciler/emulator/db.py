"""The Vertex AI emulator's database: `{state_dir}/emulator.sqlite`, shared by processes.

Each service brings its own tables (emulator/all_services.py); the ones below are everyone's.
Each thread keeps its own connections, so gRPC worker threads share none; transactions are
emulator/sqlite.py's.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from reconciler.emulator import sqlite

DB_FILE = "emulator.sqlite"
BUSY_TIMEOUT_SECONDS = 30.0
# Brings a state_dir written by an older emulator up to date (CREATE IF NOT EXISTS adds no
# column to a table that exists).
Upgrade = Callable[[sqlite3.Connection], None]

_SHARED_TABLES = """
CREATE TABLE IF NOT EXISTS operations (name TEXT PRIMARY KEY, proto BLOB NOT NULL,
    done_at REAL);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
DROP TABLE IF EXISTS calls;  -- the per-method counts call_log replaced
CREATE TABLE IF NOT EXISTS call_log (id INTEGER PRIMARY KEY, method TEXT NOT NULL,
    target TEXT NOT NULL, started REAL NOT NULL, ended REAL);
-- The job and LRO submissions of the last minute, when a rate is set (ratequota.py).
CREATE TABLE IF NOT EXISTS submissions (project TEXT NOT NULL, location TEXT NOT NULL,
    at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS submissions_by_place ON submissions (project, location, at);
"""


class Database:
    """Short transactions on one SQLite file; creates the tables on first use.

    A transaction takes an idle connection of its own thread, or opens one, and gives it back
    after: no connection is shared between threads, and a thread may open a second
    transaction beside its first. They stay open: opening one cost more than most emulated
    calls' queries, and when the last connection to a WAL database closes, SQLite
    checkpoints the WAL into the file and deletes it (an emulated call's two log writes took
    3.4 ms instead of 0.7; gcs/db.py found the same). A thread's connections close when it
    ends and its thread-local value is dropped.
    """

    def __init__(self, state_dir: Path, tables: Iterable[str] = (),
                 upgrades: Iterable[Upgrade] = ()) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / DB_FILE
        self._local = threading.local()
        with self._connect() as conn:
            sqlite.create_tables(conn, "".join(tables) + _SHARED_TABLES)
            for upgrade in upgrades:
                upgrade(conn)

    @contextmanager
    def _connect(self) -> Iterator[sqlite.Connection]:
        idle: list[sqlite.Connection] = self._local.__dict__.setdefault("idle", [])
        conn = idle.pop() if idle else sqlite.connect(self.path, BUSY_TIMEOUT_SECONDS)
        try:
            yield conn
        finally:
            if conn.in_transaction:  # an error left it mid-transaction: not used again
                conn.close()
            else:
                idle.append(conn)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn, sqlite.write(conn):
            yield conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn, sqlite.read(conn):
            yield conn


def get_setting(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def put_setting(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def add_column(conn: sqlite3.Connection, table: str, column: str, declaration: str) -> bool:
    """Adds `column` to `table` unless it has it (an Upgrade's one step); True if it did."""
    if column in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
        return False
    try:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    except sqlite3.OperationalError as err:  # another process upgraded it just now
        if "duplicate column" not in str(err):
            raise
        return False
    return True
