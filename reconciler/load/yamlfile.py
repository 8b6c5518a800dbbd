"""Reads a YAML file's text, refusing what the parser should never see.

Before any parsing: the file must be a regular file within MAX_YAML_FILE_BYTES (so a huge
comment costs nothing), valid UTF-8, and free of the control characters YAML forbids. Each
refusal is a Problem at the file, and at the line and column of the first bad byte.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

from reconciler.errors import Location, Problem
from reconciler.load.files import kind_of
from reconciler.load.limits import MAX_YAML_FILE_BYTES
from reconciler.load.yamlsource import YamlProblem

_BOM = "\ufeff"
# Outside YAML 1.1's printable set (as yaml.reader.Reader.NON_PRINTABLE): both parsers refuse
# these, but with a byte offset instead of a line, and PyYAML before any error handling.
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd"
                            "\U00010000-\U0010ffff]")


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _decode(data: bytes, shown: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        # Columns count characters, as editors do; everything before the bad byte decodes.
        before = data[: error.start].decode("utf-8")
        line, column = _position(before, len(before))
        raise YamlProblem(Problem(Location(shown, line, column), f"not UTF-8 text: byte "
                                  f"0x{data[error.start]:02x} ({error.reason}); save the file "
                                  "as UTF-8")) from None


def read_yaml_text(path: Path, shown: str) -> str:
    """The file's text, checked; raises YamlProblem saying what is wrong and where."""
    try:
        # Not following a FIFO's open(), which would block until a writer comes.
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise YamlProblem(Problem(Location(shown), f"is {kind_of(mode)}, not a file"))
        with path.open("rb") as stream:
            # One byte past the cap tells "too big" without reading the rest.
            data = stream.read(MAX_YAML_FILE_BYTES + 1)
    except OSError as error:
        raise YamlProblem(Problem(Location(shown), f"cannot read: {error.strerror}")) from None
    if len(data) > MAX_YAML_FILE_BYTES:
        raise YamlProblem(Problem(Location(shown), f"larger than {MAX_YAML_FILE_BYTES:,} bytes"
                                  "; YAML files are limited to 1 MiB"))
    text = _decode(data, shown)
    body = text.removeprefix(_BOM)
    if bad := _NOT_PRINTABLE.search(body):
        line, column = _position(body, bad.start())
        raise YamlProblem(Problem(Location(shown, line, column), f"control character "
                                  f"U+{ord(bad.group()):04X} is not allowed in YAML"))
    return body
