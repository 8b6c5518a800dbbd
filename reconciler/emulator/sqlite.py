"""The one SQLite transaction helper of both emulators (Vertex AI's and Cloud Storage's).

Several processes (the CLI, a test, `reconcile emulator serve`) and threads share one file,
so every read-modify-write runs under `BEGIN IMMEDIATE`: SQLite admits one writer at a time
and the others wait on busy_timeout instead of failing, and a check and the write it guards
are one atomic step. WAL lets readers proceed beside the writer. Writers of one process
also queue on a lock of their own first: SQLite's busy handler waits by sleeping (1, 2, 5,
... 100 ms), so threads of one server contending for the lock slept more than they worked.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# One lock per database file, for every connection this process opens on it. Re-entrant: a
# thread writing on a second connection meets SQLite's own lock, as it always did.
_WRITERS: dict[Path, threading.RLock] = {}
_WRITERS_GUARD = threading.Lock()


class Connection(sqlite3.Connection):
    """A connection that knows its file's writer lock, found once when it opens."""

    writer: threading.RLock


def connect(path: Path, busy_timeout: float) -> Connection:
    # timeout= is SQLite's busy_timeout: wait for another writer instead of failing.
    # isolation_level=None: BEGIN is issued here, so the lock mode is explicit.
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                           factory=Connection)
    with _WRITERS_GUARD:
        conn.writer = _WRITERS.setdefault(path.resolve(), threading.RLock())
    # WAL makes NORMAL durable against process crashes, which is all an emulator needs (a
    # power cut may take the last commits back, never the file): a commit no longer waits
    # for the disk, and every emulated call commits once or twice.
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def create_tables(conn: sqlite3.Connection, script: str) -> None:
    """WAL for the file, then `CREATE ... IF NOT EXISTS` statements as one transaction.

    WAL is a property of the file, so setting it on every open is idempotent. executescript
    commits any open transaction before it runs, so the BEGIN is part of the script.
    """
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(f"BEGIN IMMEDIATE;{script}COMMIT;")


@contextmanager
def write(conn: Connection) -> Iterator[Connection]:
    """A transaction holding the write lock from its first statement to commit."""
    with conn.writer:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


@contextmanager
def read(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A consistent snapshot for reads that change nothing."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
