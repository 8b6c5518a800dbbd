"""`reconcile convert-dataset IN OUT`: a reference-format dataset as Gemini JSONL.

Streamed: one line in memory at a time, written to a temporary file beside OUT that becomes
OUT only when every line converted; on any error nothing is written. OUT is never the
input, and an existing OUT is replaced only with --force.
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


def _refuse_destination(source: Path, destination: Path, target: Path, force: bool) -> None:
    """The output is never the input (by path, by symlink or by hard link), and an existing
    file is overwritten only with --force. `target` is where the write gate puts
    `destination`, links resolved."""
    same = source.resolve() == target
    if not same and source.exists() and target.exists():
        same = source.samefile(target)
    if same:
        raise TuneopsError(f"convert-dataset: {one_line(str(destination))} is the input "
                           f"{one_line(str(source))}; write the Gemini dataset to another "
                           "file (nothing was written)")
    if (destination.exists() or destination.is_symlink() or target.exists()) and not force:
        raise TuneopsError(f"convert-dataset: {one_line(str(destination))} already exists; "
                           "pass --force to overwrite it (nothing was written)")


def convert_dataset(*, root: Path, source: Path, destination: Path, console: Console,
                    force: bool = False) -> int:
    shown = str(source)
    target = user_target(root, destination)
    _refuse_destination(source, destination, target, force)
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
