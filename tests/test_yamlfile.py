"""yamlfile.read_yaml_text: what is refused before the YAML parser sees a byte."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.errors import Location
from reconciler.load.limits import MAX_YAML_FILE_BYTES
from reconciler.load.yamlfile import read_yaml_text
from reconciler.load.yamlsource import YamlProblem

SHOWN = "configs/job.yaml"


def refusal(path: Path) -> tuple[Location, str]:
    with pytest.raises(YamlProblem) as caught:
        read_yaml_text(path, SHOWN)
    return caught.value.problem.location, caught.value.problem.message


def written(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "job.yaml"
    path.write_bytes(data)
    return path


def test_text_passes_through_without_a_leading_bom(tmp_path: Path) -> None:
    path = written(tmp_path, "\ufeffname: é\r\n\tx: \x85y\n".encode())
    assert read_yaml_text(path, SHOWN) == "name: é\r\n\tx: \x85y\n"


@pytest.mark.parametrize(("data", "line", "column", "code"), [
    (b"name: a\nx: b\x00c\n", 2, 5, "U+0000"),
    (b"name: a\nx: \x07\n", 2, 4, "U+0007"),
    ("name: a\ndescription: é\x1b[31m\n".encode(), 2, 15, "U+001B"),
    (b"\x7f", 1, 1, "U+007F"),
    ("a: \ud7ff\nb: \ufffe\n".encode("utf-8", "surrogatepass"), 2, 4, "U+FFFE"),
])
def test_control_characters_are_refused_at_their_line(tmp_path: Path, data: bytes, line: int,
                                                      column: int, code: str) -> None:
    location, message = refusal(written(tmp_path, data))
    assert location == Location(SHOWN, line, column)
    assert message == f"control character {code} is not allowed in YAML"


@pytest.mark.parametrize(("data", "line", "column", "byte"), [
    (b"name: caf\xe9\n", 1, 10, "0xe9"),
    ("a: é\nb: ü".encode() + b"\xff\n", 2, 5, "0xff"),
    (b"a: 1\nb: \xe2\x82\n", 2, 4, "0xe2"),
])
def test_non_utf8_is_refused_at_the_first_bad_byte(tmp_path: Path, data: bytes, line: int,
                                                   column: int, byte: str) -> None:
    location, message = refusal(written(tmp_path, data))
    assert location == Location(SHOWN, line, column)
    assert message.startswith(f"not UTF-8 text: byte {byte}")


def test_a_file_over_the_cap_is_refused_before_parsing(tmp_path: Path) -> None:
    # A comment is skipped by the YAML scanner unseen: only the size cap stops it.
    path = written(tmp_path, b"name: a\n#" + b"x" * MAX_YAML_FILE_BYTES + b"\n")
    location, message = refusal(path)
    assert location == Location(SHOWN)
    assert message == "larger than 1,048,576 bytes; YAML files are limited to 1 MiB"


def test_a_file_at_the_cap_is_read(tmp_path: Path) -> None:
    head = b"name: a\n#"
    path = written(tmp_path, head + b"x" * (MAX_YAML_FILE_BYTES - len(head) - 1) + b"\n")
    assert len(read_yaml_text(path, SHOWN)) == MAX_YAML_FILE_BYTES


def test_a_directory_is_named_as_one(tmp_path: Path) -> None:
    (tmp_path / "job.yaml").mkdir()
    assert refusal(tmp_path / "job.yaml") == (Location(SHOWN), "is a directory, not a file")


def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    # open() on a FIFO waits for a writer: the check must come first.
    os.mkfifo(tmp_path / "job.yaml")
    assert refusal(tmp_path / "job.yaml") == (Location(SHOWN), "is a named pipe, not a file")


def test_an_unreadable_file_says_why(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.symlink_to(tmp_path / "missing.yaml")
    location, message = refusal(path)
    assert location == Location(SHOWN)
    assert message == "cannot read: No such file or directory"
