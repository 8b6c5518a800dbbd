"""Resumable upload sessions, kept in SQLite and `sessions/{id}` so any server on the state dir
can continue a session another one started."""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.gcs import errors
from reconciler.emulator.gcs.content import CHUNK_BYTES, Digests, discard
from reconciler.emulator.gcs.messages import Body
from reconciler.emulator.gcs.preconditions import Preconditions
from reconciler.emulator.gcs.resources import ObjectRow
from reconciler.emulator.gcs.store import GcsStore


@dataclass(frozen=True)
class ObjectSpec:
    """What an upload asks for besides its bytes."""

    name: str
    content_type: str
    metadata: dict[str, str] | None
    # Checksums the client declared ({"crc32c": ..., "md5Hash": ...}); the upload fails
    # with 400 if the bytes do not match, as on the real service.
    expected: dict[str, str]


@dataclass(frozen=True)
class Session:
    id: str
    bucket: str
    spec: ObjectSpec
    pre: Preconditions
    received: int
    result: dict[str, Any] | None  # the object resource once the upload finished

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Session:
        metadata = json.loads(row["metadata"]) if row["metadata"] is not None else None
        spec = ObjectSpec(row["name"], row["content_type"], metadata, json.loads(row["expected"]))
        result = json.loads(row["result"]) if row["result"] is not None else None
        return cls(row["id"], row["bucket"], spec, Preconditions.from_json(row["preconditions"]),
                   row["received"], result)


def verify(expected: dict[str, str], digests: Digests) -> None:
    for field, label, actual in (("crc32c", "CRC32C", digests.crc32c),
                                 ("md5Hash", "MD5", digests.md5)):
        if field in expected and expected[field] != actual:
            raise errors.invalid(f'Provided {label} "{expected[field]}" doesn\'t match '
                                 f'calculated {label} "{actual}".', field)


class Sessions:
    def __init__(self, store: GcsStore) -> None:
        self._store = store

    def begin(self, bucket: str, spec: ObjectSpec, pre: Preconditions) -> str:
        # Fail before any bytes arrive; the check that counts runs again when the upload ends.
        self._store.check_insert(bucket, spec.name, pre)
        session_id = uuid.uuid4().hex
        self._store.files.session_path(session_id).touch()
        with self._store.db.write() as conn:
            conn.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, 0, NULL)",
                (session_id, bucket, spec.name, spec.content_type,
                 json.dumps(spec.metadata) if spec.metadata else None,
                 json.dumps(spec.expected), pre.to_json()),
            )
        return session_id

    def load(self, session_id: str, bucket: str) -> Session:
        with self._store.db.read() as conn:
            row = conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None or row["bucket"] != bucket:
            raise errors.GcsError(404, f"No such upload session: {session_id}")
        return Session.from_row(row)

    def append(self, session: Session, first: int, body: Body) -> Session:
        """Writes a chunk starting at byte `first`; bytes already received are skipped."""
        if first > session.received:
            raise errors.invalid(f"chunk starts at byte {first} but only {session.received} "
                                 "bytes were received; query the session status first")
        _skip(body, session.received - first)
        path = self._store.files.session_path(session.id)
        with path.open("r+b") as out:
            out.seek(session.received)
            while chunk := body.read(CHUNK_BYTES):
                out.write(chunk)
            if body.remaining:
                raise ConnectionError("upload chunk ended early")
            out.truncate()
            received = out.tell()
        with self._store.db.write() as conn:
            updated = conn.execute(
                "UPDATE sessions SET received = ? WHERE id = ? AND received = ?",
                (received, session.id, session.received),
            ).rowcount
        if updated != 1:
            raise errors.GcsError(409, f"upload session {session.id} was written concurrently")
        return Session(session.id, session.bucket, session.spec, session.pre, received, None)

    def finish(self, session: Session, declared: dict[str, str], base_url: str) -> ObjectRow:
        """Commits the received bytes as the object, under the session's preconditions."""
        staged = self._store.files.stage_file(self._store.files.session_path(session.id))
        try:
            verify({**session.spec.expected, **declared}, staged.digests)
        except errors.GcsError:
            discard(staged.path)
            self._forget(session.id)
            raise
        try:
            row = self._store.put_object(session.bucket, session.spec.name, staged,
                                         content_type=session.spec.content_type,
                                         metadata=session.spec.metadata, pre=session.pre)
        except errors.GcsError:
            self._forget(session.id)
            raise
        with self._store.db.write() as conn:
            conn.execute("UPDATE sessions SET result = ? WHERE id = ?",
                         (json.dumps(row.resource(base_url)), session.id))
        return row

    def _forget(self, session_id: str) -> None:
        with self._store.db.write() as conn:
            conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))


def _skip(body: Body, count: int) -> None:
    while count > 0:
        chunk = body.read(min(count, CHUNK_BYTES))
        if not chunk:
            raise ConnectionError("upload chunk ended early")
        count -= len(chunk)
