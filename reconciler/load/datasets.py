"""JSONL dataset validation per format and the semantic content hash, in one streaming pass."""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

from reconciler.core.desired import Dataset, Role
from reconciler.errors import Location, Problem
from reconciler.kinds.base import TOKENS_CLEARLY_OVER, TOKENS_CLOSE, DatasetFormat
from reconciler.load.examplekeys import ExampleKeys, ExampleOrder
from reconciler.load.jsonline import parse_canonical, wide_text
from reconciler.load.limits import MAX_DATASET_LINE_BYTES, MIB

# Past this many errors in one file the rest are counted, not listed: the fix is the same.
MAX_ERRORS_PER_FILE = 20
HASH_LENGTH = 40
_BOM = b"\xef\xbb\xbf"
# Longer than any format's own cap: a snapshot refuses nothing a format would take.
_SNAPSHOT_LINE_BYTES = 64 * MIB
# Datasets are read in blocks of this size: with the default 8 KiB, reading a line cost
# nearly as much as hashing it; past 64 KiB nothing more is gained.
_READ_BUFFER = 64 * 1024
# (size, mtime_ns, ctime_ns, inode, device) of a file as it was read.
FileIdentity = tuple[int, int, int, int, int]


@dataclass
class DatasetReport:
    info: Dataset | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    # Each example's key (of its canonical JSON) and line; None when read from the cache.
    records: ExampleKeys | None = None
    bytes_read: int = 0
    # (hash, line) of every example in file order, when asked for (a branch's dataset diff).
    order: ExampleOrder | None = None
    # The file as it was opened, if it did not change while it was read (None: it did).
    identity: FileIdentity | None = None


class _Refused(Exception):
    """Reading stops here: the rest of the file cannot make it valid."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def bounded_lines(stream: BinaryIO, cap: int) -> Iterator[tuple[int, bytes]]:
    """Numbered lines, each read with a bound: memory stays flat even without newlines.

    A line longer than `cap` comes as its first `cap` + 1 bytes, without a newline; see
    too_long. (Iterated in C: this runs once per line of every dataset.)
    """
    return enumerate(iter(partial(stream.readline, cap + 1), b""), 1)


def too_long(raw: bytes, cap: int) -> bool:
    return len(raw) > cap and not raw.endswith(b"\n")


MAX_DUPLICATES_SHOWN = 3


@dataclass
class _Scan:
    """Running state of one pass over a file."""

    shown: str
    records: ExampleKeys = field(default_factory=ExampleKeys)
    errors: list[Problem] = field(default_factory=list)
    hidden_errors: int = 0
    first_hidden: int = 0
    without_instruction: list[int] = field(default_factory=list)
    # Valid examples; `lines` counts every non-blank line, valid or not.
    examples: int = 0
    lines: int = 0
    bytes_read: int = 0
    # Estimated tokens of all valid examples, and lines whose estimate nears the limit.
    tokens: int = 0
    close_to_limit: list[int] = field(default_factory=list)
    order: ExampleOrder | None = None

    def error(self, number: int, column: int, message: str) -> None:
        if len(self.errors) < MAX_ERRORS_PER_FILE:
            self.errors.append(Problem(Location(self.shown, number, column), message))
        else:
            self.hidden_errors += 1
            self.first_hidden = self.first_hidden or number

    def warnings(self, fmt: DatasetFormat) -> list[Problem]:
        found = []
        duplicates = self.records.duplicates()
        if self.examples < fmt.recommended:
            found.append(Problem(Location(self.shown), f"{self.examples} examples; at least "
                                 f"{fmt.recommended} are recommended"))
        found += [Problem(Location(self.shown, number, 1), f"duplicate of line {first}")
                  for number, first in duplicates[:MAX_DUPLICATES_SHOWN]]
        if len(duplicates) > MAX_DUPLICATES_SHOWN:
            found.append(Problem(Location(self.shown), f"{len(duplicates)} duplicate "
                                 "examples in all"))
        if self.without_instruction:
            first = self.without_instruction[0]
            found.append(Problem(Location(self.shown, first, 1), f"{len(self.without_instruction)}"
                                 f" of {self.examples} inputs have no instruction (such as "
                                 "'Write the code in Python: ...'); the reference advises one"))
        if self.close_to_limit:
            found.append(Problem(Location(self.shown, self.close_to_limit[0], 1),
                                 f"{len(self.close_to_limit)} example(s) estimated near the "
                                 f"model's limit of {fmt.max_tokens:,} tokens (first here); "
                                 "the service refuses those over it"))
        return found


def _first_line(scan: _Scan, raw: bytes) -> bytes:
    """The first line without a UTF-8 byte order mark, which is an error."""
    if not raw.startswith(_BOM):
        return raw
    scan.error(1, 1, "file starts with a UTF-8 byte order mark; save it as UTF-8 without BOM")
    return raw[len(_BOM):]


def _scan(stream: BinaryIO, scan: _Scan, digest: hashlib._Hash, fmt: DatasetFormat,
          role: Role) -> None:
    """Checks every line and hashes each valid record's canonical JSON, in one walk of it;
    raises _Refused where reading stops. This loop runs once per line of every dataset: what
    it needs of the format is read once, and its counts are kept in locals until the end."""
    shown, check, lacks_instruction = scan.shown, fmt.check, fmt.lacks_instruction
    low, high = fmt.examples
    cap = fmt.max_line_bytes or MAX_DATASET_LINE_BYTES
    max_bytes = fmt.max_bytes or math.inf
    far = fmt.max_tokens * TOKENS_CLEARLY_OVER if fmt.tokens else math.inf
    near = fmt.max_tokens * TOKENS_CLOSE
    update, add, order = digest.update, scan.records.add, scan.order
    read = lines = examples = tokens = 0
    try:
        for number, raw in bounded_lines(stream, cap):
            read += len(raw)
            if number == 1 and (wide := wide_text(shown, raw)) is not None:
                raise _Refused(wide)
            if too_long(raw, cap):
                raise _Refused(Problem(Location(shown, number, 1), "line is longer than "
                                       f"{cap:,} bytes; one example may take at most "
                                       f"{cap // MIB} MiB"))
            if read > max_bytes:
                raise _Refused(Problem(Location(shown, number, 1), "the file is larger "
                                       f"than the service's {fmt.max_bytes:,} bytes"))
            line = _first_line(scan, raw) if number == 1 else raw
            if not line or line.isspace():  # as `not line.strip()`, without copying the line
                continue  # a blank line is not an example
            lines += 1
            record, hashed, problem = parse_canonical(shown, number, line)
            if problem is not None:
                scan.error(number, problem.location.column, problem.message)
            elif not isinstance(record, dict):
                scan.error(number, 1, "each line must be a JSON object")
            elif (checked := check(record))[0]:
                scan.error(number, 1, checked[0])
            elif (estimate := checked[1]) > far:
                scan.error(number, 1, f"about {estimate:,} tokens ({fmt.tokens_how}), far "
                           f"over the model's limit of {fmt.max_tokens:,}")
            else:
                # Two updates, not `hashed + b"\n"`: copying a 2 KB line costs more than
                # the call.
                update(hashed)
                update(b"\n")
                examples += 1
                # Python's own 64-bit hash, a tenth of the time of blake2b: the keys never
                # leave the process, and a false duplicate needs a collision (~1e-8 at a
                # million examples).
                key = hash(hashed)
                add(key, number)
                if order is not None:
                    order.append(key, number)
                if lacks_instruction is not None and lacks_instruction(record):
                    scan.without_instruction.append(number)
                if estimate:
                    tokens += estimate
                    if estimate > near:
                        scan.close_to_limit.append(number)
            if lines > high:
                # Past the maximum nothing further can make the file valid: stop reading.
                raise _Refused(Problem(Location(shown, number, 1), f"{role} dataset has "
                                       f"more than {high:,} examples, needs {low} to "
                                       f"{high:,}"))
    finally:
        scan.bytes_read, scan.lines, scan.examples, scan.tokens = read, lines, examples, tokens


def _identity(stream: BinaryIO) -> FileIdentity:
    info = os.fstat(stream.fileno())
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def inspect_dataset(path: Path, shown: str, uri: str, fmt: DatasetFormat, role: Role, *,
                    keep_order: bool = False) -> DatasetReport:
    """Validates every line and hashes the records' canonical JSON in the same pass.

    The hash is over records, not bytes: re-indenting or reordering keys keeps it, while
    changing, adding, removing or reordering examples changes it. Memory stays flat: one
    line at a time (at most MAX_DATASET_LINE_BYTES), plus 12 bytes per example for the
    duplicate and leakage checks (examplekeys.py); reading stops at the first line too long
    or the first example past the format's maximum. The report carries the file's identity
    when the file did not change while it was read (its stat the same before and after).
    """
    try:
        with path.open("rb", buffering=_READ_BUFFER) as stream:
            before = _identity(stream)
            report = _inspect(stream, shown, uri, fmt, role, keep_order=keep_order)
            if _identity(stream) == before:
                report.identity = before
            return report
    except OSError as error:
        return DatasetReport(None, errors=[Problem(Location(shown), "cannot read: "
                                                   f"{error.strerror}")])


def _inspect(stream: BinaryIO, shown: str, uri: str, fmt: DatasetFormat, role: Role, *,
             keep_order: bool) -> DatasetReport:
    digest = hashlib.sha256()
    scan = _Scan(shown, order=ExampleOrder() if keep_order else None)
    refused: Problem | None = None
    low, high = fmt.examples
    try:
        _scan(stream, scan, digest, fmt, role)
    except _Refused as stop:
        refused = stop.problem
    except OSError as error:
        refused = Problem(Location(shown), f"cannot read: {error.strerror}")
    report = DatasetReport(info=None, errors=scan.errors, records=scan.records,
                           bytes_read=scan.bytes_read, order=scan.order)
    if scan.hidden_errors:
        # Located at the first error left out, so it sorts after the ones shown.
        report.errors.append(Problem(Location(shown, scan.first_hidden, 1),
                                     f"... and {scan.hidden_errors} more errors from here on"))
    if refused is not None:
        report.errors.append(refused)
    if not report.errors and not low <= scan.examples <= high:
        report.errors.append(Problem(Location(shown), f"{role} dataset has {scan.examples} "
                                     f"examples, needs {low} to {high:,}"))
    if not report.errors:
        report.warnings = scan.warnings(fmt)
        report.info = Dataset(uri, role, digest.hexdigest()[:HASH_LENGTH], scan.examples,
                              tokens=scan.tokens if fmt.tokens else None)
    return report


def remote_hash(uri: str, version: str) -> str:
    """The content hash of a gs:// object, from its metadata (`Storage.version`): its
    generation changes with every write, so no byte of it is read."""
    return hashlib.sha256(f"{uri}#{version}".encode()).hexdigest()[:HASH_LENGTH]


def snapshot(source: BinaryIO, copy: BinaryIO) -> str | None:
    """Copies `source` into `copy` and returns the content hash of exactly the bytes copied,
    as inspect_dataset computes it for a valid file; None if a line is not a JSON object.

    An upload sends the copy, so the staged object is the data that was hashed even when the
    file changes meanwhile.
    """
    digest = hashlib.sha256()
    for number, raw in bounded_lines(source, _SNAPSHOT_LINE_BYTES):
        copy.write(raw)
        if too_long(raw, _SNAPSHOT_LINE_BYTES) or (number == 1 and raw.startswith(_BOM)):
            return None  # neither has a content hash: the plan refused such a file
        if not raw.strip():
            continue
        record, hashed, problem = parse_canonical("", number, raw)
        if problem is not None or not isinstance(record, dict):
            return None
        digest.update(hashed + b"\n")
    return digest.hexdigest()[:HASH_LENGTH]


def leakage(training: ExampleKeys, evaluation: ExampleKeys, shown: str) -> list[Problem]:
    """Evaluation examples that also appear in the training set inflate evaluation metrics."""
    leaked = evaluation.shared_with(training)
    if not leaked:
        return []
    return [Problem(Location(shown, leaked[0], 1), f"{len(leaked)} evaluation example(s) also "
                    "appear in the training set (first here); evaluation metrics will "
                    "look better than the model is")]
