"""jsonline.parse_canonical: one parse in the common case, and exactly what parse_record and
canonical say of every line (the value, the refusal at line:column, the hashed bytes)."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.load.jsonline import canonical, parse_canonical, parse_record

SCALARS = (st.none() | st.booleans() | st.text(max_size=8)
           | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=False, allow_infinity=False))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=4), inner, max_size=4), max_leaves=20)


def reference(line: bytes) -> tuple[Any, bytes, Any]:
    """What every line was read as before parse_canonical."""
    record, problem = parse_record("d.jsonl", 7, line)
    return record, b"" if problem is not None else canonical(record), problem


@settings(max_examples=400, deadline=None)
@given(VALUES, st.sampled_from([(",", ":"), (", ", ": "), (" ,", " : ")]), st.booleans(),
       st.integers(min_value=0, max_value=3))
def test_any_json_line_reads_as_before(value: Any, separators: tuple[str, str], ascii: bool,
                                       duplicate: int) -> None:
    text = json.dumps(value, separators=separators, ensure_ascii=ascii)
    if duplicate and text.startswith("{") and text != "{}":
        # The first key given again, with another value: refused at its line and column.
        key = json.dumps(next(iter(value)), ensure_ascii=ascii)
        text = f"{text[:-1]}{separators[0]}{key}{separators[1]}{duplicate}}}"
    line = text.encode() + b"\n"
    assert parse_canonical("d.jsonl", 7, line) == reference(line)


PIECES = [b"{", b"}", b"[", b"]", b",", b":", b'"a"', b'"\\u00e9"', b'"\\ud800"', b'"\\udc00"',
          b'"\\ud83d\\ude00"', b"1", b"-0", b"1.5", b"1e400", b"NaN", b"Infinity", b"true",
          b"null", b" ", b"\t", b"\r", b"\x0c", b"\x00", b"\xff", b"\xc3\xa9", b'"\x01"',
          b"18446744073709551616", b"-9223372036854775809", b'"\\/"', b'"\\x"', b"x", b"01",
          b'"', b"\\", b'"\xed\xa0\x80"', b"\xe2\x80\xa8", b"\xc2\xa0", b"[" * 201, b"]" * 201]


def test_malformed_lines_are_refused_as_before() -> None:
    chooser = random.Random(20)
    for _ in range(20_000):
        line = b"".join(chooser.choice(PIECES) for _ in range(chooser.randint(1, 8)))
        if chooser.random() < 0.6:
            line = b'{"k": ' + line + b"}"
        assert parse_canonical("d.jsonl", 7, line) == reference(line), line
