"""`reconcile convert-dataset IN OUT`: a reference-format dataset as Gemini JSONL.

Streamed: one line in memory at a time, written to a temporary file beside OUT that becomes
OUT only when every line converted; on any error nothing is written.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import BinaryIO

import orjson
from rich.console import Console

from reconciler.errors import ConfigError, Location, Problem, TuneopsError, one_line
from reconciler.kinds.convert import to_gemini
from reconciler.load.datasets import MAX_ERRORS_PER_FILE, bounded_lines, too_long
from reconciler.load.files import kind_of
from reconciler.load.jsonline import parse_record
from reconciler.load.limits import MAX_DATASET_LINE_BYTES
from reconciler.load.writes import atomic, user_target
from reconciler.output import escape


def _convert(source: BinaryIO, shown: str, out: BinaryIO) -> tuple[int, list[Problem]]:
    """Writes each converted line to `out`; the count written and the problems found."""
    written = 0
    problems: list[Problem] = []
    for number, raw in bounded_lines(source, MAX_DATASET_LINE_BYTES):
        if too_long(raw, MAX_DATASET_LINE_BYTES):
            problems.append(Problem(Location(shown, number, 1), "line is longer than "
                                    f"{MAX_DATASET_LINE_BYTES:,} bytes"))
            break
        if not raw.strip():
            continue
        record, problem = parse_record(shown, number, raw)
        if problem is None:
            converted, why = to_gemini(record)
            if converted is None:
                problem = Problem(Location(shown, number, 1), why)
            elif not problems:
                out.write(orjson.dumps(converted) + b"\n")
                written += 1
        if problem is not None:
            problems.append(problem)
            if len(problems) >= MAX_ERRORS_PER_FILE:
                break
    return written, problems


def convert_dataset(*, root: Path, source: Path, destination: Path, console: Console) -> int:
    shown = str(source)
    target = user_target(root, destination)
    try:
        # Not following a FIFO's open(), which would wait for a writer forever.
        mode = source.stat().st_mode
        if not stat.S_ISREG(mode):
            raise TuneopsError(f"{one_line(shown)} is {kind_of(mode)}, not a file")
        with source.open("rb") as stream, atomic(target) as out:
            written, problems = _convert(stream, shown, out)
            if problems:
                # Raised inside atomic(): its temporary file goes, and OUT stays as it was.
                raise ConfigError(problems, "nothing was written")
    except OSError as error:
        raise TuneopsError(f"{one_line(shown)}: cannot read: {error.strerror}") from None
    console.print(f"Wrote {written} Gemini examples to {escape.markup(destination)}.",
                  highlight=False)
    return 0
