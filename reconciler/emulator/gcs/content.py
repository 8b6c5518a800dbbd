"""Object bytes as content files: streamed to a temporary file while hashing, then renamed.

Datasets can be hundreds of MB, so bytes never sit in memory whole and never go through SQLite:
`objects/{generation}` holds each live object's bytes (generations are unique across the store,
so a name never collides), `tmp/` holds uploads until their transaction decides their fate, and
`sessions/{id}` holds the bytes of a resumable upload received so far.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import google_crc32c

CHUNK_BYTES = 1 << 20


def _crc32c_extend(crc: int, data: bytes) -> int:
    # extend() is annotated, unlike the Checksum class, but returns Any.
    return int(google_crc32c.extend(crc, data))


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


@dataclass(frozen=True)
class Digests:
    """Size and checksums, base64 encoded as the JSON API's md5Hash and crc32c fields."""

    size: int
    md5: str
    crc32c: str


@dataclass(frozen=True)
class Staged:
    """Bytes written to a temporary file, not yet part of the store."""

    path: Path
    digests: Digests


class _Hasher:
    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._crc32c = 0
        self._size = 0

    def update(self, data: bytes) -> None:
        self._md5.update(data)
        self._crc32c = _crc32c_extend(self._crc32c, data)
        self._size += len(data)

    def digests(self) -> Digests:
        return Digests(
            size=self._size,
            md5=base64.b64encode(self._md5.digest()).decode(),
            # The service publishes crc32c as the big-endian 4 bytes, base64 encoded.
            crc32c=base64.b64encode(self._crc32c.to_bytes(4, "big")).decode(),
        )


class ContentFiles:
    """The content directory of one state dir; safe to share between threads and processes."""

    def __init__(self, root: Path) -> None:
        self.objects = root / "objects"
        self.tmp = root / "tmp"
        self.sessions = root / "sessions"
        for folder in (self.objects, self.tmp, self.sessions):
            folder.mkdir(parents=True, exist_ok=True)

    def path_of(self, generation: int) -> Path:
        return self.objects / str(generation)

    def session_path(self, session_id: str) -> Path:
        return self.sessions / session_id

    def stage_bytes(self, data: bytes) -> Staged:
        return self.stage_stream(_BytesReader(data), len(data))

    def stage_stream(self, stream: Readable, length: int) -> Staged:
        """Copies exactly `length` bytes of `stream` into a temporary file."""
        path = self.tmp / uuid.uuid4().hex
        hasher = _Hasher()
        try:
            with path.open("wb") as out:
                remaining = length
                while remaining:
                    chunk = stream.read(min(CHUNK_BYTES, remaining))
                    if not chunk:
                        raise ConnectionError(f"request body ended {remaining} bytes early")
                    out.write(chunk)
                    hasher.update(chunk)
                    remaining -= len(chunk)
        except BaseException:
            discard(path)
            raise
        return Staged(path, hasher.digests())

    def stage_file(self, path: Path) -> Staged:
        """Hashes a finished resumable session file and moves it to tmp/ for its commit."""
        hasher = _Hasher()
        with path.open("rb") as source:
            while chunk := source.read(CHUNK_BYTES):
                hasher.update(chunk)
        staged = self.tmp / uuid.uuid4().hex
        path.replace(staged)
        return Staged(staged, hasher.digests())

    def publish(self, staged: Staged, generation: int) -> None:
        # Called inside the write transaction: rename is atomic, so a reader that finds the
        # committed row also finds its bytes.
        staged.path.replace(self.path_of(generation))


def discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._offset = 0

    def read(self, size: int) -> bytes:
        chunk = self._view[self._offset:self._offset + size]
        self._offset += len(chunk)
        return bytes(chunk)
