"""One error root; the CLI maps it to exit code 1 and a one-line message per problem."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Characters that end, garble or reorder the line a message is printed on: C0 and C1
# controls, DEL, the Unicode line and paragraph separators, and the bidirectional overrides
# and isolates ("Trojan source").
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    return f"\\x{ord(char):02x}" if ord(char) <= 0xFF else f"\\u{ord(char):04x}"


def one_line(value: object) -> str:
    """`value` as text with every control character escaped (`\\n`, `\\x1b`, ...), shown and
    never obeyed: one line whatever a file name, key or value from the repository holds.
    The one implementation: Problems use it here, every renderer through output/escape.py."""
    return _CONTROL.sub(_escaped, value if isinstance(value, str) else str(value))


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file, 1-based, as editors and GitHub annotations count."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        path = one_line(self.path)
        if not self.line:
            return path
        if not self.column:
            return f"{path}:{self.line}"
        return f"{path}:{self.line}:{self.column}"


def display_path(path: Path, root: Path) -> str:
    """A path as the user wrote it: relative to the repository root when it is inside it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


class TuneopsError(Exception):
    """Anything the user can fix; never shown with a traceback."""


@dataclass(frozen=True)
class Problem:
    """One validation finding. Errors block every launch; warnings are shown in the plan."""

    location: Location
    message: str
    subject: str = ""

    def __str__(self) -> str:
        """Always one line: what comes from the repository is escaped here, once."""
        subject = f"{one_line(self.subject)}: " if self.subject else ""
        return f"{self.location}: {subject}{one_line(self.message)}"


class ConfigError(TuneopsError):
    """The desired state is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem],
                 consequence: str = "nothing was launched") -> None:
        self.problems = sorted(problems, key=lambda p: p.location)
        self.consequence = consequence
        super().__init__("\n".join(str(p) for p in self.problems))


class BackendError(TuneopsError):
    """Vertex AI or Cloud Storage refused or failed a call."""


class QuotaExceeded(BackendError):
    """The service refused a create for quota: the job waits, it has not failed."""
