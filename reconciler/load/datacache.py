"""The dataset cache in .reconciler/: a second plan over unchanged datasets reads no bytes.

An entry is keyed by (path, size, mtime_ns, inode) and the task/role it was validated for.
Writes go to a temporary file renamed into place, merged with what another process may have
written meanwhile, so concurrent runs never leave a corrupt cache; a corrupt or foreign file
is ignored and rebuilt.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from reconciler.core.desired import Dataset, Role
from reconciler.errors import Location, Problem
from reconciler.load.datasets import DatasetReport

# 2: entries carry the datasets' estimated tokens.
CACHE_VERSION = 2
CACHE_FILE = "dataset-cache.json"


def _problems(rows: list[list[Any]]) -> list[Problem]:
    return [Problem(Location(path, line, column), message) for path, line, column, message
            in rows]


def _rows(problems: list[Problem]) -> list[list[Any]]:
    return [[p.location.path, p.location.line, p.location.column, p.message] for p in problems]


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
        return {}
    return data


class DatasetCache:
    """Validation results by file identity, and leakage results by pair of content hashes."""

    def __init__(self, directory: Path | None) -> None:
        self.path = directory / CACHE_FILE if directory is not None else None
        data = _read(self.path) if self.path is not None else {}
        files, pairs = data.get("files"), data.get("leakage")
        self.files: dict[str, Any] = files if isinstance(files, dict) else {}
        self.pairs: dict[str, Any] = pairs if isinstance(pairs, dict) else {}
        self.dirty = False

    @staticmethod
    def key(path: Path, dataset_format: str, role: Role) -> str:
        stat = path.stat()
        return f"{dataset_format}|{role}|{path}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ino}"

    def get(self, key: str, uri: str, role: Role) -> DatasetReport | None:
        entry = self.files.get(key)
        if not isinstance(entry, dict):
            return None
        try:
            tokens = entry["tokens"]
            info = Dataset(uri, role, str(entry["hash"]), int(entry["examples"]),
                           tokens=None if tokens is None else int(tokens))
            return DatasetReport(info, warnings=_problems(entry["warnings"]))
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, key: str, report: DatasetReport) -> None:
        if report.info is None or report.info.examples is None:
            return
        self.files[key] = {"hash": report.info.content_hash, "examples": report.info.examples,
                           "tokens": report.info.tokens, "warnings": _rows(report.warnings)}
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
        on_disk = DatasetCache(self.path.parent)
        data = {"version": CACHE_VERSION, "files": {**on_disk.files, **self.files},
                "leakage": {**on_disk.pairs, **self.pairs}}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(data, stream)
            Path(temporary).replace(self.path)
        except OSError:
            pass  # a cache that cannot be written only costs speed
