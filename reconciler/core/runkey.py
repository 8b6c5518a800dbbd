"""PURE: the keys records are filed under: a run's (every lease, record and score of a run)
and a Model's (what the service would not do to it)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.core.resources import parse

# A RunKey's path in the staging bucket (not a resource name: core/resources.py has those).
_PATH = re.compile(r"(?P<location>[^/]+)/(?P<kind>[^/]+)/(?P<name>[^/]+)"
                   r"/(?P<fingerprint>[^/]+)/(?P<attempt>[0-9]+)")
# A record of a run: its key's path, then what the record is of.
_RECORD = re.compile(_PATH.pattern + r"/(?P<rest>.+)")
# A record of a Model: `models/{location}/{id}/{fact}`. No run's record has this shape: a
# run's path has five parts before what it is of, and no location is named `models`.
_MODEL_RECORD = re.compile(r"models/(?P<location>[^/]+)/(?P<id>[^/]+)/(?P<rest>[^/]+)")


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


@dataclass(frozen=True, order=True)
class ModelKey:
    """A Model of one project: its location and id, as the service names it (never by the
    project, which the service names by number and tuneops knows by id)."""

    location: str
    id: str

    def path(self) -> str:
        return f"models/{self.location}/{self.id}"

    @classmethod
    def of(cls, resource: str) -> ModelKey:
        name = parse(resource)
        return cls(name.location, name.id)


Key = RunKey | ModelKey


def of_record(path: str) -> tuple[Key, str] | None:
    """The key of a record (`{key.path()}/REST`), of a Model or of a run, and REST; None
    for any other path."""
    if found := _MODEL_RECORD.fullmatch(path):
        return ModelKey(found["location"], found["id"]), found["rest"]
    if found := _RECORD.fullmatch(path):
        return RunKey(found["location"], found["kind"], found["name"], found["fingerprint"],
                      int(found["attempt"])), found["rest"]
    return None
