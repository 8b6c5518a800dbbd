"""PURE: a run's key: the one thing every lease, record and score of a run is filed under."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A RunKey's path in the staging bucket (not a resource name: core/resources.py has those).
_PATH = re.compile(r"(?P<location>[^/]+)/(?P<kind>[^/]+)/(?P<name>[^/]+)"
                   r"/(?P<fingerprint>[^/]+)/(?P<attempt>[0-9]+)")
# A record of a run: its key's path, then what the record is of.
_RECORD = re.compile(_PATH.pattern + r"/(?P<rest>.+)")


@dataclass(frozen=True, order=True)
class RunKey:
    """A run of one project: where, of which kind, launched as which name, fingerprint and
    attempt. Unique: a launch never reuses an attempt of its name and fingerprint."""

    location: str
    kind: str
    name: str
    fingerprint: str
    attempt: int

    def path(self) -> str:
        return f"{self.location}/{self.kind}/{self.name}/{self.fingerprint}/{self.attempt}"

    @classmethod
    def parse(cls, path: str) -> RunKey | None:
        """The key of a record's path (`path()`); None for any other path."""
        found = _PATH.fullmatch(path)
        if found is None:
            return None
        return cls(found["location"], found["kind"], found["name"], found["fingerprint"],
                   int(found["attempt"]))

    @classmethod
    def of_record(cls, path: str) -> tuple[RunKey, str] | None:
        """The key of a run's record (`{path()}/REST`) and REST; None for another path."""
        found = _RECORD.fullmatch(path)
        if found is None:
            return None
        return cls(found["location"], found["kind"], found["name"], found["fingerprint"],
                   int(found["attempt"])), found["rest"]
