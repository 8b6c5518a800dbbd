"""Resource names, `projects/P/locations/L/COLLECTION/ID`: the emulator's one parser.

Each service names its own collections (`Collection("pipelineJobs", "pipeline job", ...)`)
and the locations it serves; a name in any other location is refused, like the real service.

The real service takes a project by its id or its number in a request, and names every
resource it returns by the number: `projects/801452371447/locations/us-central1/tuningJobs/
7028...` in Google's samples and SDK tests (python-docs-samples genai/tuning/, python-genai
replays). The emulator does the same: a project id maps to a number of 12 digits derived
from it, the same on every run; every name it stores and returns carries that number.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from reconciler.emulator.errors import invalid

_PARENT = r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
# GetModel also takes `{model}@{version_id or alias}` (model_service.proto, GetModelRequest.name).
_VERSION = r"(?:@(?P<version>[a-z0-9][a-z0-9-]*))?"
_ANY = re.compile(_PARENT + r"/(?P<collection>[^/]+)/(?P<id>[^/@]+)(?:@(?P<version>[^/]+))?")


@dataclass(frozen=True)
class Name:
    project: str
    location: str
    collection: str
    id: str
    version: str | None = None

    @property
    def parent(self) -> str:
        return parent(self.project, self.location)

    @property
    def unversioned(self) -> str:
        return f"{self.parent}/{self.collection}/{self.id}"


@cache
def project_number(project: str) -> str:
    """The number a project id stands for (a number stands for itself)."""
    if project.isdigit():
        return project
    digest = int(hashlib.sha256(project.encode()).hexdigest(), 16)
    return str(10**11 + digest % (9 * 10**11))


def parent(project: str, location: str) -> str:
    """`projects/NUMBER/locations/L`, whether `project` is the id or the number."""
    return f"projects/{project_number(project)}/locations/{location}"


def parent_parts(name: str) -> tuple[str, str]:
    """(project, location) of a parent the emulator made itself."""
    match = re.fullmatch(_PARENT, name)
    if match is None:
        raise ValueError(f"not a parent: {name!r}")
    return match["project"], match["location"]


def place_of(target: str) -> tuple[str, str] | None:
    """(project number, location) of a parent or of a resource under one, whether the
    project is named by id or number; None for anything else."""
    match = re.match(_PARENT, target)
    return None if match is None else (project_number(match["project"]), match["location"])


def parse_parent(name: str, locations: Sequence[str]) -> tuple[str, str]:
    """Returns (project number, location) of `projects/P/locations/L`, L one of `locations`."""
    match = re.fullmatch(_PARENT, name)
    if match is None:
        raise invalid(f"invalid parent {name!r}: expected projects/PROJECT/locations/LOCATION")
    _check_location(match["location"], locations)
    return project_number(match["project"]), match["location"]


def split(name: str) -> Name:
    """A name the emulator made itself, taken apart (a client's name is parsed by its
    Collection, which says what is wrong with it)."""
    match = _ANY.fullmatch(name)
    if match is None:
        raise ValueError(f"not a resource name: {name!r}")
    return Name(match["project"], match["location"], match["collection"], match["id"],
                match["version"])


@dataclass(frozen=True)
class Collection:
    """One kind of resource under a location, `{parent}/{segment}/{ID}`."""

    segment: str
    # What the resource is called in error messages.
    what: str
    id_pattern: str = "[0-9]+"
    id_shape: str = "NUMERIC_ID"

    def name(self, parent_name: str, resource_id: str | int) -> str:
        return f"{parent_name}/{self.segment}/{resource_id}"

    def parse(self, name: str, locations: Sequence[str], *, versions: bool = False) -> Name:
        """Validates a client's name (`versions`: also `NAME@VERSION`); INVALID_ARGUMENT
        naming the expected shape otherwise. The Name carries the project's number, so
        `unversioned` is the name the emulator stores it under."""
        match = _pattern(self.segment, self.id_pattern, versions).fullmatch(name)
        if match is None:
            shape = f"projects/PROJECT/locations/LOCATION/{self.segment}/{self.id_shape}"
            raise invalid(f"invalid {self.what} name {name!r}: expected {shape}"
                          + ("[@VERSION]" if versions else ""))
        _check_location(match["location"], locations)
        return Name(project_number(match["project"]), match["location"], self.segment,
                    match["id"], match["version"] if versions else None)


@cache
def _pattern(segment: str, id_pattern: str, versions: bool) -> re.Pattern[str]:
    return re.compile(f"{_PARENT}/{segment}/(?P<id>{id_pattern})" + (_VERSION if versions else ""))


def _check_location(location: str, locations: Sequence[str]) -> None:
    if location not in locations:
        raise invalid(
            f"location {location!r} is not supported; use one of {', '.join(locations)}"
        )
