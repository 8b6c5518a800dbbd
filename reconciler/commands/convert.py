"""`reconcile convert-dataset IN OUT`: a reference-format dataset as Gemini JSONL."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import orjson
from rich.console import Console

from reconciler.errors import ConfigError, Location, Problem, TuneopsError
from reconciler.kinds.convert import to_gemini
from reconciler.load.datasets import MAX_ERRORS_PER_FILE, bounded_lines, json_error, too_long
from reconciler.load.limits import MAX_DATASET_LINE_BYTES


def _converted(source: Path, shown: str) -> tuple[list[bytes], list[Problem]]:
    lines: list[bytes] = []
    problems: list[Problem] = []
    try:
        with source.open("rb") as stream:
            for number, raw in bounded_lines(stream, MAX_DATASET_LINE_BYTES):
                if too_long(raw, MAX_DATASET_LINE_BYTES):
                    problems.append(Problem(Location(shown, number, 1), "line is longer "
                                            f"than {MAX_DATASET_LINE_BYTES:,} bytes"))
                    break
                if not raw.strip():
                    continue
                try:
                    record = orjson.loads(raw)
                except orjson.JSONDecodeError as error:
                    problems.append(json_error(shown, number, raw, error))
                    continue
                converted, problem = to_gemini(record)
                if converted is None:
                    problems.append(Problem(Location(shown, number, 1), problem))
                else:
                    lines.append(orjson.dumps(converted) + b"\n")
                if len(problems) > MAX_ERRORS_PER_FILE:
                    break
    except OSError as error:
        problems.append(Problem(Location(shown), f"cannot read: {error.strerror}"))
    return lines, problems


def _refuse_destination(source: Path, destination: Path, force: bool) -> None:
    """The output is never the input (by path, by symlink or by hard link), and an existing
    file is overwritten only with --force."""
    same = source.resolve() == destination.resolve()
    if not same and source.exists() and destination.exists():
        same = source.samefile(destination)
    if same:
        raise TuneopsError(f"convert-dataset: {destination} is the input {source}; write the "
                           "Gemini dataset to another file (nothing was written)")
    if (destination.exists() or destination.is_symlink()) and not force:
        raise TuneopsError(f"convert-dataset: {destination} already exists; pass --force to "
                           "overwrite it (nothing was written)")


def convert_dataset(*, source: Path, destination: Path, console: Console,
                    force: bool = False) -> int:
    _refuse_destination(source, destination, force)
    lines, problems = _converted(source, str(source))
    if problems:
        raise ConfigError(problems[:MAX_ERRORS_PER_FILE], "nothing was written")
    destination.parent.mkdir(parents=True, exist_ok=True)
    # Written whole or not at all: a half-converted dataset must never be hashed and tuned.
    handle, temporary = tempfile.mkstemp(dir=destination.parent, suffix=".tmp")
    with os.fdopen(handle, "wb") as stream:
        stream.writelines(lines)
    Path(temporary).replace(destination)
    console.print(f"Wrote {len(lines)} Gemini examples to {destination}.", highlight=False)
    return 0
