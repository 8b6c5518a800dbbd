"""JSONL dataset validation per task and the semantic content hash, in one streaming pass."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from reconciler.errors import Location, Problem

Role = Literal["training", "evaluation"]

LIMITS: dict[Role, tuple[int, int]] = {"training": (10, 10_000), "evaluation": (10, 250)}
RECOMMENDED_EXAMPLES = 500
# Past this many errors in one file the rest are counted, not listed: the fix is the same.
MAX_ERRORS_PER_FILE = 20
HASH_LENGTH = 40
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class DatasetInfo:
    """What planning needs to know of a dataset: its identity is its content, not its path."""

    uri: str
    content_hash: str
    # None for gs:// datasets, which are hashed from object metadata without reading them.
    examples: int | None


@dataclass
class DatasetReport:
    info: DatasetInfo | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    # Digest of each record's canonical JSON -> its first line; None when read from the cache.
    records: dict[bytes, int] | None = None
    bytes_read: int = 0


def _check_generation(record: dict[str, Any]) -> str | None:
    for key in ("input_text", "output_text"):
        value = record.get(key)
        if not isinstance(value, str) or not value.strip():
            return f"'{key}' must be a non-empty string"
    return None


def _check_chat(record: dict[str, Any]) -> str | None:
    context = record.get("context")
    if context is not None and not isinstance(context, str):
        return "'context' must be a string"
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list of {author, content}"
    for index, message in enumerate(messages):
        expected = "user" if index % 2 == 0 else "assistant"
        if not isinstance(message, dict):
            return f"messages[{index}] must be an object with 'author' and 'content'"
        if message.get("author") != expected:
            return (f"messages[{index}].author must be '{expected}' (authors alternate "
                    "user/assistant, starting with user)")
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            return f"messages[{index}].content must be a non-empty string"
    if len(messages) % 2:
        return "the last message must be from 'assistant'"
    return None


CHECKS = {"code-generation": _check_generation, "code-chat": _check_chat}


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as stream:
        yield from enumerate(stream, start=1)


def _json_error(shown: str, number: int, line: bytes, error: orjson.JSONDecodeError) -> Problem:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as bad:
        # Columns count characters, as editors do, not bytes.
        column = len(line[: bad.start].decode("utf-8")) + 1
        return Problem(Location(shown, number, column), "invalid UTF-8 byte "
                       f"0x{line[bad.start]:02x}; datasets must be UTF-8")
    column = error.pos + 1  # orjson counts characters
    stripped = text.rstrip("\r\n")
    if column > len(stripped):
        return Problem(Location(shown, number, len(stripped) + 1),
                       "the JSON object does not end on this line; each example must be one "
                       "complete JSON object on a single line")
    return Problem(Location(shown, number, column), f"invalid JSON: {error.msg}")


# A leading directive such as "Write the code in Python:" is what the reference calls an
# instruction; "Calculate the sum of a list of integers." alone has none.
_INSTRUCTION = re.compile(r"^\s*[^:\n]{3,120}:\s")
MAX_DUPLICATES_SHOWN = 3


@dataclass
class _Scan:
    """Running state of one pass over a file."""

    shown: str
    records: dict[bytes, int] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    hidden_errors: int = 0
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    without_instruction: list[int] = field(default_factory=list)
    examples: int = 0

    def error(self, number: int, column: int, message: str) -> None:
        if len(self.errors) < MAX_ERRORS_PER_FILE:
            self.errors.append(Problem(Location(self.shown, number, column), message))
        else:
            self.hidden_errors += 1

    def record(self, number: int, record: dict[str, Any], canonical: bytes) -> None:
        self.examples += 1
        key = hashlib.blake2b(canonical, digest_size=16).digest()
        first = self.records.setdefault(key, number)
        if first != number:
            self.duplicates.append((number, first))
        text = record.get("input_text")
        if isinstance(text, str) and not _INSTRUCTION.match(text):
            self.without_instruction.append(number)

    def warnings(self, role: Role) -> list[Problem]:
        found = []
        if role == "training" and self.examples < RECOMMENDED_EXAMPLES:
            found.append(Problem(Location(self.shown), f"{self.examples} examples; at least "
                                 f"{RECOMMENDED_EXAMPLES} are recommended"))
        found += [Problem(Location(self.shown, number, 1), f"duplicate of line {first}")
                  for number, first in self.duplicates[:MAX_DUPLICATES_SHOWN]]
        if len(self.duplicates) > MAX_DUPLICATES_SHOWN:
            found.append(Problem(Location(self.shown), f"{len(self.duplicates)} duplicate "
                                 "examples in all"))
        if self.without_instruction:
            first = self.without_instruction[0]
            found.append(Problem(Location(self.shown, first, 1), f"{len(self.without_instruction)}"
                                 f" of {self.examples} inputs have no instruction (such as "
                                 "'Write the code in Python: ...'); the reference advises one"))
        return found


def inspect_dataset(path: Path, shown: str, uri: str, task: str, role: Role) -> DatasetReport:
    """Validates every line and hashes the records' canonical JSON in the same pass.

    The hash is over records, not bytes: re-indenting or reordering keys keeps it, while
    changing, adding, removing or reordering examples changes it. Memory stays flat: one
    line at a time, plus a 16-byte digest per example for duplicate and leakage checks.
    """
    check = CHECKS[task]
    digest = hashlib.sha256()
    scan = _Scan(shown)
    bytes_read = 0
    for number, raw in _lines(path):
        bytes_read += len(raw)
        line = raw
        if number == 1 and raw.startswith(_BOM):
            scan.error(1, 1, "file starts with a UTF-8 byte order mark; save it as UTF-8 "
                       "without BOM")
            line = raw[len(_BOM):]
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            problem = _json_error(shown, number, line, error)
            scan.error(number, problem.location.column, problem.message)
            continue
        if not isinstance(record, dict):
            scan.error(number, 1, "each line must be a JSON object")
        elif message := check(record):
            scan.error(number, 1, message)
        else:
            canonical = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
            digest.update(canonical)
            digest.update(b"\n")
            scan.record(number, record, canonical)
    report = DatasetReport(info=None, errors=scan.errors, records=scan.records,
                           bytes_read=bytes_read)
    if scan.hidden_errors:
        report.errors.append(Problem(Location(shown), f"... and {scan.hidden_errors} more "
                                     "errors"))
    low, high = LIMITS[role]
    if not report.errors and not low <= scan.examples <= high:
        report.errors.append(Problem(Location(shown), f"{role} dataset has {scan.examples} "
                                     f"examples, needs {low} to {high:,}"))
    if not report.errors:
        report.warnings = scan.warnings(role)
        report.info = DatasetInfo(uri, digest.hexdigest()[:HASH_LENGTH], scan.examples)
    return report


def leakage(training: dict[bytes, int], evaluation: dict[bytes, int], shown: str
            ) -> list[Problem]:
    """Evaluation examples that also appear in the training set inflate evaluation metrics."""
    leaked = sorted(line for key, line in evaluation.items() if key in training)
    if not leaked:
        return []
    return [Problem(Location(shown, leaked[0], 1), f"{len(leaked)} evaluation example(s) also "
                    "appear in the training set (first here); evaluation metrics will "
                    "look better than the model is")]
