"""SQLite plumbing for the storage emulator: `{state_dir}/gcs.sqlite`, WAL, short transactions.

Several servers (threads, processes) may share one state dir. Transactions are those of
emulator/sqlite.py, which the Vertex AI emulator uses too, so a precondition check and the
write it guards are one atomic step.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import AbstractContextManager, closing
from pathlib import Path

from reconciler.emulator import sqlite

DB_FILE = "gcs.sqlite"
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    location TEXT NOT NULL,
    storage_class TEXT NOT NULL,
    created_us INTEGER NOT NULL
) WITHOUT ROWID;
-- Keyed by (bucket, name): listing is an ordered range scan of this key. SQLite compares TEXT
-- as UTF-8 bytes, which is code point order, the order the service lists names in.
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    name TEXT NOT NULL,
    generation INTEGER NOT NULL,
    metageneration INTEGER NOT NULL,
    size INTEGER NOT NULL,
    md5 TEXT NOT NULL,
    crc32c TEXT NOT NULL,
    content_type TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL,
    metadata TEXT,
    PRIMARY KEY (bucket, name)
) WITHOUT ROWID;
-- The last generation handed out: generations are microsecond timestamps, like the service's,
-- forced to increase so they are unique across the whole store.
CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 1), last_us INTEGER NOT NULL);
-- Every request served, in order, as the Vertex AI emulator's call_log: what tests count.
CREATE TABLE IF NOT EXISTS requests (id INTEGER PRIMARY KEY, method TEXT NOT NULL,
    path TEXT NOT NULL, written TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    metadata TEXT,
    expected TEXT NOT NULL,
    preconditions TEXT NOT NULL,
    received INTEGER NOT NULL,
    result TEXT
);
"""


class Database:
    """One connection per thread, never shared between threads.

    Connections are kept open rather than opened per transaction: when the last connection to
    a WAL database closes, SQLite checkpoints and deletes the WAL file, which made every request
    pay for a checkpoint and its fsyncs (a metadata GET took 6 ms instead of well under 1).
    """

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / DB_FILE
        self._local = threading.local()
        with closing(self._connect()) as conn:
            sqlite.create_tables(conn, _SCHEMA)

    def _connection(self) -> sqlite.Connection:
        conn: sqlite.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # Closed when its thread ends and the thread-local value is dropped.
            conn = self._local.conn = self._connect()
        return conn

    def _connect(self) -> sqlite.Connection:
        conn = sqlite.connect(self.path, BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = sqlite3.Row
        return conn

    def close_thread_connection(self) -> None:
        """Closes this thread's connection now rather than whenever the thread is collected."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            conn.close()

    def write(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction that holds the write lock from its first statement."""
        return sqlite.write(self._connection())

    def read(self) -> AbstractContextManager[sqlite3.Connection]:
        """A read transaction: one consistent snapshot for all its statements."""
        return sqlite.read(self._connection())
