"""JSONL dataset validation per task and the semantic content hash, in one streaming pass."""

from __future__ import annotations

import hashlib
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
    examples: int


@dataclass
class DatasetReport:
    info: DatasetInfo | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


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
        return Problem(Location(shown, number, bad.start + 1), "invalid UTF-8 byte "
                       f"0x{line[bad.start]:02x}; datasets must be UTF-8")
    column = len(text.encode("utf-8")[: error.pos].decode("utf-8", "ignore")) + 1
    stripped = text.rstrip("\r\n")
    if column > len(stripped):
        return Problem(Location(shown, number, len(stripped) + 1),
                       "the JSON object does not end on this line; each example must be one "
                       "complete JSON object on a single line")
    return Problem(Location(shown, number, column), f"invalid JSON: {error.msg}")


def inspect_dataset(path: Path, shown: str, uri: str, task: str, role: Role) -> DatasetReport:
    """Validates every line and hashes the records' canonical JSON in the same pass.

    The hash is over records, not bytes: re-indenting or reordering keys keeps it, while
    changing, adding, removing or reordering examples changes it.
    """
    check = CHECKS[task]
    digest = hashlib.sha256()
    report = DatasetReport(info=None)
    examples = 0
    hidden = 0
    for number, raw in _lines(path):
        line = raw
        if number == 1 and raw.startswith(_BOM):
            report.errors.append(Problem(Location(shown, 1, 1), "file starts with a UTF-8 "
                                         "byte order mark; save it as UTF-8 without BOM"))
            line = raw[len(_BOM):]
        if not line.strip():
            continue
        problem: Problem | None = None
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            problem = _json_error(shown, number, line, error)
        else:
            if not isinstance(record, dict):
                problem = Problem(Location(shown, number, 1), "each line must be a JSON object")
            elif message := check(record):
                problem = Problem(Location(shown, number, 1), message)
            else:
                examples += 1
                digest.update(orjson.dumps(record, option=orjson.OPT_SORT_KEYS))
                digest.update(b"\n")
        if problem is not None:
            if len(report.errors) < MAX_ERRORS_PER_FILE:
                report.errors.append(problem)
            else:
                hidden += 1
    if hidden:
        report.errors.append(Problem(Location(shown), f"... and {hidden} more errors"))
    low, high = LIMITS[role]
    if not report.errors and not low <= examples <= high:
        report.errors.append(Problem(Location(shown), f"{role} dataset has {examples} examples, "
                                     f"needs {low} to {high:,}"))
    if not report.errors:
        if role == "training" and examples < RECOMMENDED_EXAMPLES:
            report.warnings.append(Problem(Location(shown), f"{examples} examples; at least "
                                           f"{RECOMMENDED_EXAMPLES} are recommended"))
        report.info = DatasetInfo(uri, digest.hexdigest()[:HASH_LENGTH], examples)
    return report
