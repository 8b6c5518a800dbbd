"""The dataset cache in .reconciler/: a second plan over unchanged datasets reads no bytes.

An entry is kept per (path, format, role) with the identity of the file it was computed from:
size, mtime, ctime, inode and device. Any difference means the file is read again; ctime is
in it because nobody can set it back (`touch -d` sets back only mtime), so an edit that keeps
the size and restores the mtime is still seen.

git's racy-timestamp rule decides what may be stored: timestamps have coarse ticks, so a file
changed in the very tick it was read, after its bytes were, would keep its identity. An entry
is stored only for a file whose last change (mtime and ctime) came strictly before the file
system's clock read before any dataset was; any later change gives it a later ctime. A file
changed while it was being read is never stored either. When in doubt, the file is re-read.

Writes go through the write gate: a temporary file renamed into place, merged with what another
process may have written meanwhile, so concurrent runs never leave a corrupt cache; a corrupt
or foreign file is ignored and rebuilt, and a cache that cannot be written only costs speed.
"""

from __future__ import annotations

import json
import stat
from contextlib import suppress
from pathlib import Path
from typing import Any

from reconciler.core.desired import Dataset, Role
from reconciler.errors import Location, Problem
from reconciler.layout import STATE_DIR
from reconciler.load.datasets import DatasetReport, FileIdentity
from reconciler.load.writes import WriteRefused, filesystem_now, own_file, write

# 2: entries carry the datasets' estimated tokens. 3: one entry per path and format, with the
# file's identity (ctime and device too) in it; racily clean files are not stored.
CACHE_VERSION = 3
CACHE_FILE = "dataset-cache.json"


def _problems(rows: list[list[Any]]) -> list[Problem]:
    return [Problem(Location(path, line, column), message) for path, line, column, message
            in rows]


def _rows(problems: list[Problem]) -> list[list[Any]]:
    return [[p.location.path, p.location.line, p.location.column, p.message] for p in problems]


def _read(path: Path) -> dict[str, Any]:
    try:
        # A FIFO committed in its place would block an open() forever.
        if not stat.S_ISREG(path.stat().st_mode):
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    return data


def identity(path: Path) -> FileIdentity:
    info = path.stat()
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


class DatasetCache:
    """Validation results by file identity, and leakage results by pair of content hashes."""

    def __init__(self, root: Path | None) -> None:
        self.path: Path | None = None
        if root is not None:
            with suppress(WriteRefused):  # no cache: it cannot be written where it belongs
                self.path = own_file(root, f"{STATE_DIR}/{CACHE_FILE}")
        data = _read(self.path) if self.path is not None else {}
        files, pairs = data.get("files"), data.get("leakage")
        self.files: dict[str, Any] = files if isinstance(files, dict) else {}
        self.pairs: dict[str, Any] = pairs if isinstance(pairs, dict) else {}
        self.dirty = False
        # The file system's clock before the first dataset was read (None: not yet).
        self._started: int | None = None

    @staticmethod
    def key(path: Path, dataset_format: str, role: Role) -> str:
        return f"{dataset_format}|{role}|{path}"

    def get(self, key: str, path: Path, uri: str, role: Role) -> DatasetReport | None:
        entry = self.files.get(key)
        if not isinstance(entry, dict):
            return None
        try:
            if tuple(entry["identity"]) != identity(path):
                return None
            tokens = entry["tokens"]
            info = Dataset(uri, role, str(entry["hash"]), int(entry["examples"]),
                           tokens=None if tokens is None else int(tokens))
            return DatasetReport(info, warnings=_problems(entry["warnings"]))
        except (KeyError, TypeError, ValueError, OSError):
            return None

    def before_reading(self) -> None:
        """Call before reading a dataset: the clock racily clean files are judged by."""
        if self._started is None and self.path is not None:
            try:
                self._started = filesystem_now(self.path.parent)
            except OSError:
                self.path = None

    def put(self, key: str, report: DatasetReport) -> None:
        found = report.identity
        if report.info is None or report.info.examples is None or found is None:
            return
        if self._started is None or max(found[1], found[2]) >= self._started:
            # Changed in the tick it was read, or later: it may differ from what was hashed.
            self.dirty = self.files.pop(key, None) is not None or self.dirty
            return
        self.files[key] = {"identity": list(found), "hash": report.info.content_hash,
                           "examples": report.info.examples, "tokens": report.info.tokens,
                           "warnings": _rows(report.warnings)}
        self.dirty = True

    def get_leakage(self, training: str, evaluation: str) -> list[Problem] | None:
        rows = self.pairs.get(f"{training}|{evaluation}")
        try:
            return _problems(rows) if rows is not None else None
        except (TypeError, ValueError):
            return None

    def put_leakage(self, training: str, evaluation: str, found: list[Problem]) -> None:
        self.pairs[f"{training}|{evaluation}"] = _rows(found)
        self.dirty = True

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        on_disk = _read(self.path)
        files, pairs = on_disk.get("files"), on_disk.get("leakage")
        data = {"version": CACHE_VERSION,
                "files": {**(files if isinstance(files, dict) else {}), **self.files},
                "leakage": {**(pairs if isinstance(pairs, dict) else {}), **self.pairs}}
        with suppress(WriteRefused):  # a cache that cannot be written only costs speed
            write(self.path, json.dumps(data).encode())
