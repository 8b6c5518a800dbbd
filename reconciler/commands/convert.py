"""`reconcile convert-dataset IN OUT`: a reference-format dataset as Gemini JSONL."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import orjson
from rich.console import Console

from reconciler.errors import ConfigError, Location, Problem
from reconciler.kinds.convert import to_gemini
from reconciler.load.datasets import MAX_ERRORS_PER_FILE, bounded_lines, json_error, too_long
from reconciler.load.limits import MAX_DATASET_LINE_BYTES
from reconciler.output import escape


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


def convert_dataset(*, source: Path, destination: Path, console: Console) -> int:
    lines, problems = _converted(source, str(source))
    if problems:
        raise ConfigError(problems[:MAX_ERRORS_PER_FILE], "nothing was written")
    destination.parent.mkdir(parents=True, exist_ok=True)
    # Written whole or not at all: a half-converted dataset must never be hashed and tuned.
    handle, temporary = tempfile.mkstemp(dir=destination.parent, suffix=".tmp")
    with os.fdopen(handle, "wb") as stream:
        stream.writelines(lines)
    Path(temporary).replace(destination)
    console.print(f"Wrote {len(lines)} Gemini examples to {escape.markup(destination)}.",
                  highlight=False)
    return 0
