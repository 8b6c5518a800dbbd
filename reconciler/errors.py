"""One error root; the CLI maps it to exit code 1 and a one-line message per problem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file, 1-based, as editors and GitHub annotations count."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.path
        if not self.column:
            return f"{self.path}:{self.line}"
        return f"{self.path}:{self.line}:{self.column}"


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
        subject = f"{self.subject}: " if self.subject else ""
        return f"{self.location}: {subject}{self.message}"


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
