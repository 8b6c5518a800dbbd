"""Buckets and objects in SQLite plus content files: the emulator's one source of truth.

Every server on the same state dir reads and writes through this, so an object written by one
process is visible to all others at once. Writes check their preconditions inside the same
`BEGIN IMMEDIATE` transaction that writes the row.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from reconciler.emulator.gcs import errors
from reconciler.emulator.gcs.content import ContentFiles, Staged, discard
from reconciler.emulator.gcs.db import Database
from reconciler.emulator.gcs.preconditions import Live, Preconditions
from reconciler.emulator.gcs.resources import BucketRow, ObjectRow

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]")
_MAX_OBJECT_NAME_BYTES = 1024
# A row can point at bytes a concurrent write just replaced; the reader looks again.
_OPEN_ATTEMPTS = 5


@dataclass(frozen=True)
class MetadataPatch:
    """objects.patch fields the emulator supports; `metadata` values of None delete keys."""

    content_type: str | None = None
    metadata: dict[str, str | None] | None = None
    clear_metadata: bool = False

    def apply(self, row: ObjectRow) -> tuple[str, dict[str, str] | None]:
        merged = {} if self.clear_metadata else dict(row.metadata or {})
        for key, value in (self.metadata or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return self.content_type or row.content_type, merged or None


class GcsStore:
    """Thread-safe and process-safe: it holds no state but paths."""

    def __init__(self, state_dir: Path) -> None:
        self.db = Database(state_dir)
        self.files = ContentFiles(state_dir)

    # The request log

    def log_request(self, method: str, path: str, written: str = "") -> None:
        """Logs a request served: its method, path and query, and the object it wrote."""
        with self.db.write() as conn:
            conn.execute("INSERT INTO requests (method, path, written) VALUES (?, ?, ?)",
                         (method, path, written))

    def requests(self) -> list[tuple[str, str, str]]:
        """(HTTP method, path and query, object written or "") of every request served, in
        order."""
        with self.db.read() as conn:
            return [(method, path, written) for method, path, written in conn.execute(
                "SELECT method, path, written FROM requests ORDER BY id")]

    def reset_requests(self) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM requests")

    # Buckets

    def create_bucket(self, name: str, project: str, location: str,
                      storage_class: str) -> BucketRow:
        if not _BUCKET_NAME.fullmatch(name) or ".." in name:
            raise errors.invalid(f"Invalid bucket name: {name!r}", "name")
        row = BucketRow(name, project, location, storage_class, _now_us())
        try:
            with self.db.write() as conn:
                conn.execute("INSERT INTO buckets VALUES (?, ?, ?, ?, ?)",
                             (row.name, row.project, row.location, row.storage_class,
                              row.created_us))
        except sqlite3.IntegrityError:
            raise errors.GcsError(
                409, "Your previous request to create the named bucket succeeded and you "
                "already own it.") from None
        return row

    def get_bucket(self, name: str) -> BucketRow:
        with self.db.read() as conn:
            return _bucket(conn, name)

    # Objects

    def put_object(self, bucket: str, name: str, staged: Staged, *, content_type: str,
                   metadata: dict[str, str] | None, pre: Preconditions) -> ObjectRow:
        """Makes `staged` the live object `name` if `pre` holds; consumes `staged` either way."""
        validate_object_name(name)
        published: int | None = None
        try:
            with self.db.write() as conn:
                _bucket(conn, bucket)
                live = _live(conn, bucket, name)
                pre.check(_state(live))
                generation = _next_generation(conn)
                row = ObjectRow(bucket, name, generation, 1, staged.digests.size,
                                staged.digests.md5, staged.digests.crc32c, content_type,
                                generation, generation, metadata)
                conn.execute(
                    "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (row.bucket, row.name, row.generation, row.metageneration, row.size,
                     row.md5, row.crc32c, row.content_type, row.created_us, row.updated_us,
                     json.dumps(metadata) if metadata else None),
                )
                self.files.publish(staged, generation)
                published = generation
        except BaseException:
            discard(staged.path)
            if published is not None:  # the commit itself failed after the rename
                discard(self.files.path_of(published))
            raise
        if live is not None:
            discard(self.files.path_of(live.generation))
        return row

    def check_insert(self, bucket: str, name: str, pre: Preconditions) -> None:
        """Fails early (before a resumable upload's bytes arrive) if the insert cannot succeed."""
        validate_object_name(name)
        with self.db.read() as conn:
            _bucket(conn, bucket)
            pre.check(_state(_live(conn, bucket, name)))

    def get_object(self, bucket: str, name: str, generation: int | None,
                   pre: Preconditions) -> ObjectRow:
        with self.db.read() as conn:
            _bucket(conn, bucket)
            live = _live(conn, bucket, name)
        live = _require(live, bucket, name, generation)
        pre.check(_state(live), read=True)
        return live

    def open_object(self, bucket: str, name: str, generation: int | None,
                    pre: Preconditions) -> tuple[ObjectRow, BinaryIO]:
        for _ in range(_OPEN_ATTEMPTS):
            row = self.get_object(bucket, name, generation, pre)
            try:
                return row, self.files.path_of(row.generation).open("rb")
            except FileNotFoundError:
                continue  # replaced or deleted between the read and the open
        raise errors.no_object(bucket, name)

    def list_objects(self, bucket: str, prefix: str, after: str | None,
                     limit: int) -> tuple[list[ObjectRow], str | None]:
        """Up to `limit` objects named `prefix...` after `after`, and the name to continue after."""
        sql = "SELECT * FROM objects WHERE bucket = ? AND name >= ?"
        params: list[str | int] = [bucket, prefix]
        if after is not None:
            sql += " AND name > ?"
            params.append(after)
        end = _prefix_end(prefix)
        if end is not None:
            sql += " AND name < ?"
            params.append(end)
        sql += " ORDER BY name LIMIT ?"
        params.append(limit + 1)
        with self.db.read() as conn:
            _bucket(conn, bucket)
            rows = [ObjectRow.from_row(row) for row in conn.execute(sql, params)]
        if len(rows) > limit:
            return rows[:limit], rows[limit - 1].name
        return rows, None

    def delete_object(self, bucket: str, name: str, generation: int | None,
                      pre: Preconditions) -> None:
        with self.db.write() as conn:
            _bucket(conn, bucket)
            live = _require(_live(conn, bucket, name), bucket, name, generation)
            pre.check(_state(live))
            conn.execute("DELETE FROM objects WHERE bucket = ? AND name = ?", (bucket, name))
        discard(self.files.path_of(live.generation))

    def patch_object(self, bucket: str, name: str, generation: int | None,
                     pre: Preconditions, patch: MetadataPatch) -> ObjectRow:
        with self.db.write() as conn:
            _bucket(conn, bucket)
            live = _require(_live(conn, bucket, name), bucket, name, generation)
            pre.check(_state(live))
            content_type, metadata = patch.apply(live)
            row = ObjectRow(live.bucket, live.name, live.generation, live.metageneration + 1,
                            live.size, live.md5, live.crc32c, content_type, live.created_us,
                            max(_now_us(), live.updated_us), metadata)
            conn.execute(
                "UPDATE objects SET metageneration = ?, content_type = ?, updated_us = ?,"
                " metadata = ? WHERE bucket = ? AND name = ?",
                (row.metageneration, row.content_type, row.updated_us,
                 json.dumps(metadata) if metadata else None, bucket, name),
            )
        return row


def validate_object_name(name: str) -> None:
    encoded = name.encode("utf-8", "surrogatepass")
    if not encoded or len(encoded) > _MAX_OBJECT_NAME_BYTES or name in {".", ".."} or any(
        char in name for char in "\r\n"
    ):
        raise errors.invalid(f"Invalid object name: {name!r}", "name")


def _now_us() -> int:
    return time.time_ns() // 1000


def _next_generation(conn: sqlite3.Connection) -> int:
    now = _now_us()
    row = conn.execute(
        "INSERT INTO clock (id, last_us) VALUES (1, ?) ON CONFLICT (id) DO UPDATE"
        " SET last_us = max(excluded.last_us, last_us + 1) RETURNING last_us",
        (now,),
    ).fetchone()
    return int(row[0])


def _bucket(conn: sqlite3.Connection, name: str) -> BucketRow:
    row = conn.execute("SELECT * FROM buckets WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise errors.no_bucket(name)
    return BucketRow.from_row(row)


def _live(conn: sqlite3.Connection, bucket: str, name: str) -> ObjectRow | None:
    row = conn.execute("SELECT * FROM objects WHERE bucket = ? AND name = ?",
                       (bucket, name)).fetchone()
    return None if row is None else ObjectRow.from_row(row)


def _require(live: ObjectRow | None, bucket: str, name: str,
             generation: int | None) -> ObjectRow:
    # Only live versions are kept (no object versioning), so another generation is gone.
    if live is None or (generation is not None and generation != live.generation):
        raise errors.no_object(bucket, name)
    return live


def _state(live: ObjectRow | None) -> Live | None:
    return None if live is None else Live(live.generation, live.metageneration)


def _prefix_end(prefix: str) -> str | None:
    """The least string above every string that starts with `prefix` (None: no bound)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            following = last + 1
            if 0xD800 <= following <= 0xDFFF:  # surrogates are not encodable; skip them
                following = 0xE000
            return "".join(chars) + chr(following)
    return None
