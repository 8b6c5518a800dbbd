"""datasets.inspect_dataset: validation per task, exact error locations, the semantic hash."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from reconciler.core.desired import Role
from reconciler.errors import Location, Problem
from reconciler.kinds.pipeline_datasets import FORMATS
from reconciler.load.datasets import (
    HASH_LENGTH,
    MAX_ERRORS_PER_FILE,
    DatasetReport,
    inspect_dataset,
)
from reconciler.load.limits import MAX_DATASET_LINE_BYTES

SHOWN = "datasets/train.jsonl"


def generation(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"input_text": f"Write the code in Python: print {i}", "output_text": f"print({i})"}
            for i in range(start, start + count)]


def chat(count: int) -> list[dict[str, Any]]:
    return [{"context": "You write Python.",
             "messages": [{"author": "user", "content": f"How do I print {i}?"},
                          {"author": "assistant", "content": f"print({i})"}]}
            for i in range(count)]


def lines(records: list[dict[str, Any]], **dump: Any) -> str:
    return "".join(json.dumps(record, **dump) + "\n" for record in records)


def inspect(tmp_path: Path, content: str | bytes, task: str = "code-generation",
            role: Role = "training") -> DatasetReport:
    path = tmp_path / "data.jsonl"
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return inspect_dataset(path, SHOWN, "datasets/train.jsonl", FORMATS[task, role], role)


def content_hash(tmp_path: Path, content: str | bytes, task: str = "code-generation") -> str:
    report = inspect(tmp_path, content, task)
    assert report.errors == []
    assert report.info is not None
    return report.info.content_hash


def only_error(report: DatasetReport) -> Problem:
    assert report.info is None
    assert len(report.errors) == 1, report.errors
    return report.errors[0]


@pytest.mark.parametrize(("task", "records"), [("code-generation", generation(12)),
                                               ("code-chat", chat(12))])
def test_valid_file_gives_count_and_hash(tmp_path: Path, task: str,
                                         records: list[dict[str, Any]]) -> None:
    report = inspect(tmp_path, lines(records), task)
    assert report.errors == []
    assert report.info is not None
    assert report.info.examples == 12
    assert report.info.uri == "datasets/train.jsonl"
    assert len(report.info.content_hash) == HASH_LENGTH
    int(report.info.content_hash, 16)


def test_chat_context_is_optional(tmp_path: Path) -> None:
    records = [{"messages": r["messages"]} for r in chat(10)]
    report = inspect(tmp_path, lines(records), "code-chat")
    assert report.info is not None
    assert report.info.examples == 10


BASE = generation(12)
BASE_TEXT = lines(BASE)
EQUIVALENT = {
    "reindented": lines(BASE, indent=None, separators=(" , ", " :   ")),
    "keys-reordered": lines([dict(reversed(r.items())) for r in BASE]),
    "blank-lines": "\n" + BASE_TEXT.replace("\n", "\n\n", 3) + "   \n",
    "crlf": BASE_TEXT.replace("\n", "\r\n"),
    "no-final-newline": BASE_TEXT.rstrip("\n"),
    "unicode-escapes": BASE_TEXT.replace("W", "\\u0057"),
}


@pytest.mark.parametrize("variant", sorted(EQUIVALENT))
def test_hash_ignores_formatting(tmp_path: Path, variant: str) -> None:
    assert EQUIVALENT[variant] != BASE_TEXT
    assert content_hash(tmp_path, EQUIVALENT[variant]) == content_hash(tmp_path, BASE_TEXT)


def test_hash_ignores_key_order_in_chat_messages(tmp_path: Path) -> None:
    records = chat(12)
    reordered = [{"messages": [dict(reversed(m.items())) for m in r["messages"]],
                  "context": r["context"]} for r in records]
    assert (content_hash(tmp_path, lines(reordered), "code-chat")
            == content_hash(tmp_path, lines(records), "code-chat"))


def _one_char_changed() -> list[dict[str, Any]]:
    records = [dict(r) for r in BASE]
    records[5]["output_text"] = "print(6)"
    return records


CHANGED = {
    "one-character": _one_char_changed(),
    "added": [*BASE, *generation(1, start=100)],
    "removed": BASE[:-1],
    "swapped": [BASE[1], BASE[0], *BASE[2:]],
    "duplicated": [*BASE, BASE[0]],
}


@pytest.mark.parametrize("change", sorted(CHANGED))
def test_hash_changes_with_content(tmp_path: Path, change: str) -> None:
    assert content_hash(tmp_path, lines(CHANGED[change])) != content_hash(tmp_path, BASE_TEXT)


def test_records_are_not_concatenated_ambiguously(tmp_path: Path) -> None:
    # The same characters regrouped into other records must not hash alike.
    a = [*BASE[:10], {"input_text": "ab", "output_text": "c"}]
    b = [*BASE[:10], {"input_text": "a", "output_text": "bc"}]
    assert content_hash(tmp_path, lines(a)) != content_hash(tmp_path, lines(b))


def with_line(text: str, number: int = 4, records: list[dict[str, Any]] = BASE) -> str:
    """The valid records, with line `number` replaced by `text`."""
    rows = lines(records).splitlines(keepends=True)
    rows[number - 1] = text + "\n"
    return "".join(rows)


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        pytest.param('{"input_text": "a", "output_text": "b",, }', 40,
                     "invalid JSON: unexpected character, expected a string key",
                     id="double-comma"),
        pytest.param('{"input_text": "a" "output_text": "b"}', 20,
                     "invalid JSON: unexpected character, expected ',' or '}'",
                     id="missing-comma"),
        pytest.param('{"input_text": "a", "output_text": "b"} x', 41,
                     "invalid JSON: unexpected content after document", id="trailing"),
        pytest.param("{'input_text': 'a'}", 2,
                     "invalid JSON: unexpected character, expected a string key",
                     id="single-quotes"),
    ],
)
def test_invalid_json_is_located(tmp_path: Path, line: str, column: int, message: str) -> None:
    error = only_error(inspect(tmp_path, with_line(line)))
    assert error == Problem(Location(SHOWN, 4, column), message)


@pytest.mark.parametrize("prefix", ["é", "€€"])
def test_invalid_json_column_counts_characters(tmp_path: Path, prefix: str) -> None:
    line = f'{{"input_text": "{prefix}", "output_text": "b",, }}'
    error = only_error(inspect(tmp_path, with_line(line)))
    assert error.location == Location(SHOWN, 4, line.index(",,") + 2)


def test_reference_excludes_instructions_example(tmp_path: Path) -> None:
    first = '{"input_text": "Calculate the sum of a list of integers.",'
    second = '"output_text": ```python\\nnums = [1, 2, 3]\\ntotal_sum = sum(nums)\\n```}'
    rows = lines(BASE).splitlines(keepends=True)
    content = "".join([*rows[:2], first + "\n", second + "\n", *rows[2:]])
    report = inspect(tmp_path, content)
    assert report.info is None
    assert report.errors == [
        Problem(Location(SHOWN, 3, len(first) + 1),
                "the JSON object does not end on this line; each example must be one "
                "complete JSON object on a single line"),
        Problem(Location(SHOWN, 4, 14), "invalid JSON: unexpected content after document"),
    ]


def test_record_split_on_last_line_without_newline(tmp_path: Path) -> None:
    first = '{"input_text": "a",'
    report = inspect(tmp_path, BASE_TEXT + first)
    assert only_error(report).location == Location(SHOWN, 13, len(first) + 1)


@pytest.mark.parametrize(
    ("task", "line", "message"),
    [
        pytest.param("code-generation", "[1, 2]", "each line must be a JSON object",
                     id="array"),
        pytest.param("code-generation", '"text"', "each line must be a JSON object",
                     id="string"),
        pytest.param("code-generation", '{"output_text": "b"}',
                     "'input_text' must be a non-empty string", id="missing-input"),
        pytest.param("code-generation", '{"input_text": "", "output_text": "b"}',
                     "'input_text' must be a non-empty string", id="empty-input"),
        pytest.param("code-generation", '{"input_text": "  ", "output_text": "b"}',
                     "'input_text' must be a non-empty string", id="blank-input"),
        pytest.param("code-generation", '{"input_text": 3, "output_text": "b"}',
                     "'input_text' must be a non-empty string", id="number-input"),
        pytest.param("code-generation", '{"input_text": "a"}',
                     "'output_text' must be a non-empty string", id="missing-output"),
        pytest.param("code-chat",
                     '{"messages": [{"author": "assistant", "content": "a"},'
                     ' {"author": "user", "content": "b"}]}',
                     "messages[0].author must be 'user' (authors alternate user/assistant, "
                     "starting with user)", id="assistant-first"),
        pytest.param("code-chat",
                     '{"messages": [{"author": "user", "content": "a"},'
                     ' {"author": "user", "content": "b"}]}',
                     "messages[1].author must be 'assistant' (authors alternate "
                     "user/assistant, starting with user)", id="user-twice"),
        pytest.param("code-chat",
                     '{"messages": [{"author": "user", "content": "a"},'
                     ' {"author": "assistant", "content": "b"},'
                     ' {"author": "user", "content": "c"}]}',
                     "the last message must be from 'assistant'", id="ends-with-user"),
        pytest.param("code-chat",
                     '{"context": 5, "messages": [{"author": "user", "content": "a"},'
                     ' {"author": "assistant", "content": "b"}]}',
                     "'context' must be a string", id="non-string-context"),
        pytest.param("code-chat", '{"messages": []}',
                     "'messages' must be a non-empty list of {author, content}",
                     id="empty-messages"),
        pytest.param("code-chat", '{"context": "c"}',
                     "'messages' must be a non-empty list of {author, content}",
                     id="missing-messages"),
        pytest.param("code-chat", '{"messages": ["hi", "there"]}',
                     "messages[0] must be an object with 'author' and 'content'",
                     id="message-not-object"),
        pytest.param("code-chat",
                     '{"messages": [{"author": "user", "content": ""},'
                     ' {"author": "assistant", "content": "b"}]}',
                     "messages[0].content must be a non-empty string", id="empty-content"),
    ],
)
def test_invalid_record(tmp_path: Path, task: str, line: str, message: str) -> None:
    records = generation(12) if task == "code-generation" else chat(12)
    error = only_error(inspect(tmp_path, with_line(line, 7, records), task))
    assert error == Problem(Location(SHOWN, 7, 1), message)


def test_utf8_bom_is_an_error_at_first_line(tmp_path: Path) -> None:
    report = inspect(tmp_path, b"\xef\xbb\xbf" + BASE_TEXT.encode())
    assert only_error(report) == Problem(
        Location(SHOWN, 1, 1),
        "file starts with a UTF-8 byte order mark; save it as UTF-8 without BOM")


def test_invalid_utf8_byte_reports_its_column(tmp_path: Path) -> None:
    bad = b'{"input_text": "a\xff", "output_text": "b"}'
    content = with_line("PLACEHOLDER", 3).encode().replace(b"PLACEHOLDER", bad)
    error = only_error(inspect(tmp_path, content))
    assert error == Problem(Location(SHOWN, 3, bad.index(b"\xff") + 1),
                            "invalid UTF-8 byte 0xff; datasets must be UTF-8")


def test_invalid_utf8_column_counts_characters(tmp_path: Path) -> None:
    bad = '{"input_text": "é'.encode() + b'\xff", "output_text": "b"}'
    content = with_line("PLACEHOLDER", 3).encode().replace(b"PLACEHOLDER", bad)
    error = only_error(inspect(tmp_path, content))
    assert error.location == Location(SHOWN, 3, len('{"input_text": "é') + 1)


@pytest.mark.parametrize(
    ("role", "count", "line", "message"),
    [
        ("training", 9, 0, "training dataset has 9 examples, needs 10 to 10,000"),
        # Too many is said at the first example past the maximum, where reading stopped.
        ("training", 10_001, 10_001,
         "training dataset has more than 10,000 examples, needs 10 to 10,000"),
        ("evaluation", 9, 0, "evaluation dataset has 9 examples, needs 10 to 250"),
        ("evaluation", 251, 251, "evaluation dataset has more than 250 examples, needs 10 to 250"),
    ],
)
def test_example_count_limits(tmp_path: Path, role: Role, count: int, line: int,
                              message: str) -> None:
    report = inspect(tmp_path, lines(generation(count)), role=role)
    location = Location(SHOWN, line, 1) if line else Location(SHOWN)
    assert only_error(report) == Problem(location, message)


@pytest.mark.parametrize(("role", "count"), [("training", 10), ("training", 10_000),
                                             ("evaluation", 10), ("evaluation", 250)])
def test_example_count_bounds_are_inclusive(tmp_path: Path, role: Role, count: int) -> None:
    report = inspect(tmp_path, lines(generation(count)), role=role)
    assert report.errors == []
    assert report.info is not None
    assert report.info.examples == count


@pytest.mark.parametrize(("count", "warned"), [(10, True), (499, True), (500, False)])
def test_fewer_than_500_examples_warns(tmp_path: Path, count: int, warned: bool) -> None:
    report = inspect(tmp_path, lines(generation(count)))
    assert report.info is not None
    expected = [Problem(Location(SHOWN), f"{count} examples; at least 500 are recommended")]
    assert report.warnings == (expected if warned else [])


def test_evaluation_dataset_is_not_warned_about_size(tmp_path: Path) -> None:
    assert inspect(tmp_path, lines(generation(10)), role="evaluation").warnings == []


def test_errors_capped_per_file(tmp_path: Path) -> None:
    extra = 7
    content = "[]\n" * (MAX_ERRORS_PER_FILE + extra) + lines(generation(12))
    report = inspect(tmp_path, content)
    assert report.info is None
    assert len(report.errors) == MAX_ERRORS_PER_FILE + 1
    assert [e.location.line for e in report.errors[:-1]] == list(
        range(1, MAX_ERRORS_PER_FILE + 1))
    # At the first error left out: sorted with the others, it never comes first.
    assert report.errors[-1] == Problem(Location(SHOWN, MAX_ERRORS_PER_FILE + 1, 1),
                                        f"... and {extra} more errors from here on")


def test_exactly_max_errors_has_no_summary_line(tmp_path: Path) -> None:
    report = inspect(tmp_path, "[]\n" * MAX_ERRORS_PER_FILE + lines(generation(12)))
    assert len(report.errors) == MAX_ERRORS_PER_FILE
    assert not any("more errors" in e.message for e in report.errors)


def test_errors_suppress_count_check_and_info(tmp_path: Path) -> None:
    report = inspect(tmp_path, "[]\n")
    assert only_error(report).message == "each line must be a JSON object"


def test_duplicate_example_warns_at_its_line(tmp_path: Path) -> None:
    records = generation(600)
    report = inspect(tmp_path, lines([*records, records[3]]))
    assert report.info is not None
    assert report.info.examples == 601
    duplicates = [w for w in report.warnings if "duplicate" in w.message]
    assert [w.location for w in duplicates] == [Location(SHOWN, 601, 1)]
    assert "line 4" in duplicates[0].message


def test_input_without_instruction_warns(tmp_path: Path) -> None:
    records = generation(600)
    records[9] = {"input_text": "Calculate the sum of a list of integers.",
                  "output_text": "sum(nums)"}
    report = inspect(tmp_path, lines(records))
    assert report.info is not None
    found = [w for w in report.warnings if "instruction" in w.message]
    assert [w.location for w in found] == [Location(SHOWN, 10, 1)]


def test_clean_large_dataset_has_no_warnings(tmp_path: Path) -> None:
    assert inspect(tmp_path, lines(generation(600))).warnings == []


def bounded(tmp_path: Path, write: Callable[[BinaryIO], None], role: Role = "training"
            ) -> tuple[DatasetReport, int, int]:
    """Inspects a file written by `write`; returns the report, the file size and peak memory."""
    path = tmp_path / "data.jsonl"
    with path.open("wb") as stream:
        write(stream)
    tracemalloc.start()
    try:
        report = inspect_dataset(path, SHOWN, "datasets/train.jsonl",
                                 FORMATS["code-generation", role], role)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return report, path.stat().st_size, peak


def test_a_file_without_newlines_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    def write(stream: BinaryIO) -> None:
        for _ in range(24):
            stream.write(b"x" * MAX_DATASET_LINE_BYTES)

    report, size, peak = bounded(tmp_path, write)
    assert only_error(report) == Problem(
        Location(SHOWN, 1, 1), f"line is longer than {MAX_DATASET_LINE_BYTES:,} bytes; one "
        "example may take at most 1 MiB")
    # Read one byte past the cap, and never held more than a few lines' worth.
    assert report.bytes_read == MAX_DATASET_LINE_BYTES + 1
    assert size == 24 * MAX_DATASET_LINE_BYTES
    assert peak < 3 * MAX_DATASET_LINE_BYTES


def test_a_long_line_stops_reading_at_its_line(tmp_path: Path) -> None:
    def write(stream: BinaryIO) -> None:
        stream.write(lines(generation(20)).encode())
        stream.write(b'{"input_text": "' + b"x" * (4 * MAX_DATASET_LINE_BYTES) + b'"}\n')
        stream.write(lines(generation(20)).encode())

    report, size, _ = bounded(tmp_path, write)
    assert only_error(report).location == Location(SHOWN, 21, 1)
    assert report.bytes_read < size - 3 * MAX_DATASET_LINE_BYTES


def test_a_line_at_the_cap_is_an_example(tmp_path: Path) -> None:
    record = generation(1)[0]
    padding = MAX_DATASET_LINE_BYTES - len(json.dumps(record))
    record["output_text"] += " " * padding
    line = json.dumps(record).encode() + b"\n"
    assert len(line) == MAX_DATASET_LINE_BYTES + 1
    content = line + lines(generation(9, start=1)).encode()
    report = inspect(tmp_path, content)
    assert report.errors == []
    assert report.info is not None
    assert report.info.examples == 10


def test_too_many_examples_stops_reading_at_the_first_one_past_the_maximum(
        tmp_path: Path) -> None:
    high = FORMATS["code-generation", "training"].examples[1]

    def write(stream: BinaryIO) -> None:
        stream.write(lines(generation(high + 1)).encode())
        # Never reached: neither read nor reported.
        stream.write(b"not json\n" * 100_000)

    report, size, _ = bounded(tmp_path, write)
    assert only_error(report) == Problem(
        Location(SHOWN, high + 1, 1),
        f"training dataset has more than {high:,} examples, needs 10 to {high:,}")
    assert report.bytes_read < size - 100_000 * len(b"not json\n") + 1


def test_invalid_lines_count_towards_the_maximum(tmp_path: Path) -> None:
    report = inspect(tmp_path, "not json\n" * 300, role="evaluation")
    assert report.info is None
    assert report.errors[-1] == Problem(Location(SHOWN, 251, 1), "evaluation dataset has more "
                                        "than 250 examples, needs 10 to 250")


def test_an_unreadable_path_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "dir.jsonl").mkdir()
    report = inspect_dataset(tmp_path / "dir.jsonl", SHOWN, "datasets/train.jsonl",
                             FORMATS["code-generation", "training"], "training")
    assert only_error(report) == Problem(Location(SHOWN), "cannot read: Is a directory")
