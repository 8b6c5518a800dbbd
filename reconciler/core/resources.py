"""PURE: Vertex AI resource names, the one place that takes them apart.

Every resource tuneops touches is named `projects/P/locations/L/COLLECTION/ID`, a Model
also `.../models/ID@VERSION` (as a tuning run reports it). The location says which
regional client to call, the collection which kind's adapter owns a job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
                   r"/(?P<collection>[^/]+)/(?P<id>[^/@]+)(?:@(?P<version>[^/]+))?")


@dataclass(frozen=True)
class ResourceName:
    project: str
    location: str
    collection: str
    id: str
    version: str = ""

    @property
    def unversioned(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/{self.collection}/{self.id}"


def parse(resource: str) -> ResourceName:
    found = _NAME.fullmatch(resource)
    if found is None:
        raise ValueError(f"not a Vertex AI resource name: {resource!r}")
    return ResourceName(found["project"], found["location"], found["collection"], found["id"],
                        found["version"] or "")


def location_of(resource: str) -> str:
    """`projects/P/locations/L/...` -> L."""
    return parse(resource).location


def id_of(resource: str) -> str:
    """`.../pipelineJobs/ID` -> ID: how the plan and the summaries show a resource."""
    return parse(resource).id
