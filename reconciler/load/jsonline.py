"""One dataset line as JSON: parsed, refused where it is ambiguous, and in canonical form.

orjson parses (the records, and so every content hash, are exactly what they always were);
jiter, pydantic's parser, refuses a key given twice in one object, which orjson would take
the last of and another reader the first. Every refusal is a Problem at the line and the
column, counted in characters as editors do.
"""

from __future__ import annotations

import re
from typing import Any

import jiter
import orjson

from reconciler.errors import Location, Problem

# UTF-16 and UTF-32 byte order marks (UTF-32 LE's starts as UTF-16 LE's does).
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def json_error(shown: str, number: int, line: bytes, error: orjson.JSONDecodeError) -> Problem:
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


def _column(line: bytes, offset: int) -> int:
    """The 1-based character column of byte `offset`, as editors count."""
    return len(line[:offset].decode("utf-8", "replace")) + 1


_JITER_POSITION = re.compile(r" at line \d+ column (\d+)$")


def _key_span(line: bytes, after: int) -> tuple[int, int] | None:
    """Where the key whose value follows byte `after` (jiter's position) is, its quotes
    included, found by walking back over `: ` and the string; None if the line is not so."""
    colon = line.rfind(b":", 0, after + 1)
    end = len(line[:colon].rstrip())
    if colon < 0 or line[end - 1:end] != b'"':
        return None
    for start in range(end - 2, -1, -1):
        if line[start:start + 1] == b'"':
            backslashes = start - len(line[:start].rstrip(b"\\"))
            if backslashes % 2 == 0:
                return start, end
    return None


def _duplicate_key(shown: str, number: int, line: bytes) -> Problem | None:
    """A key given twice in one object, or nesting jiter refuses; None if neither.

    orjson keeps the last of two equal keys, other readers the first: the record would not
    be what was hashed. jiter (pydantic's parser) finds them; orjson still parses, so the
    records and their hashes stay exactly as before.
    """
    try:
        jiter.from_json(line, catch_duplicate_keys=True, cache_mode="none")
    except ValueError as error:
        message = str(error)
        found = _JITER_POSITION.search(message)
        offset = int(found.group(1)) - 1 if found else 0
        message = message[:found.start()] if found else message
        if not message.startswith("Detected duplicate key"):
            return Problem(Location(shown, number, _column(line, offset)),
                           f"invalid JSON: {message}")
        span = _key_span(line, offset)
        try:
            key = orjson.loads(line[span[0]:span[1]]) if span else message.split(" ", 3)[-1]
        except orjson.JSONDecodeError:
            key = message.split(" ", 3)[-1]
        return Problem(Location(shown, number, _column(line, span[0] if span else offset)),
                       f"duplicate key {key!r} in one JSON object: JSON readers differ on "
                       "which value they take, so the example tuned could differ from the "
                       "one hashed; keep one")
    return None


def parse_record(shown: str, number: int, line: bytes) -> tuple[Any, Problem | None]:
    """One dataset line as JSON: the value, or the Problem that says where it is not."""
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        return None, json_error(shown, number, line, error)
    problem = _duplicate_key(shown, number, line)
    return (None, problem) if problem is not None else (record, None)


def canonical(record: Any) -> bytes:
    """What the content hash covers of one record: its JSON with sorted keys."""
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


def parse_canonical(shown: str, number: int, line: bytes
                    ) -> tuple[Any, bytes, Problem | None]:
    """parse_record and canonical of a line, parsing it once where that gives the same.

    jiter parses and refuses duplicate keys in one pass. Its value is taken only where it is
    orjson's too: floats stay its text (lossless-float), which orjson does not write, and
    ints past 64 bits (orjson reads them as floats) orjson does not write either; any such
    line, and any line jiter refuses, is read by parse_record, as every line was before.
    """
    try:
        record = jiter.from_json(line, allow_inf_nan=False, catch_duplicate_keys=True,
                                 cache_mode="keys", float_mode="lossless-float")
        return record, orjson.dumps(record, option=orjson.OPT_SORT_KEYS), None
    except (ValueError, orjson.JSONEncodeError):
        pass
    record, problem = parse_record(shown, number, line)
    return record, b"" if problem is not None else canonical(record), problem


def wide_text(shown: str, raw: bytes) -> Problem | None:
    """A file in UTF-16 or UTF-32 says so on its first line, not in 20 errors of bytes."""
    if raw.startswith(_WIDE_BOMS):
        how = "starts with a UTF-16 or UTF-32 byte order mark"
    elif b"\x00" in raw:
        how = "has NUL bytes in its first line, as UTF-16 and UTF-32 text does"
    else:
        return None
    return Problem(Location(shown, 1, 1), f"the file {how}; datasets must be UTF-8: save it "
                   "as UTF-8")
