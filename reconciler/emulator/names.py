"""Resource names and the locations the emulator serves."""

from __future__ import annotations

import re
from collections.abc import Sequence

from reconciler.emulator.errors import invalid

# The regions where code-bison tuning pipelines run.
PIPELINE_LOCATIONS = ("us-central1", "europe-west4")
# A few of the regions where Gemini supervised tuning runs (the real list is longer); a tuned
# Gemini Model registers in its tuning job's own region.
GEMINI_TUNING_LOCATIONS = ("us-central1", "europe-west4", "us-east4", "asia-northeast1")
# Models and Endpoints live wherever either kind of job registers them.
SERVED_LOCATIONS = tuple(dict.fromkeys(PIPELINE_LOCATIONS + GEMINI_TUNING_LOCATIONS))
# Tuned pipeline models always register here: the `location` parameter must be us-central1.
MODEL_LOCATION = "us-central1"

_PARENT = re.compile(r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)")
_JOB = re.compile(_PARENT.pattern + r"/pipelineJobs/(?P<id>[^/]+)")
_TUNING_JOB = re.compile(_PARENT.pattern + r"/tuningJobs/(?P<id>[0-9]+)")
_MODEL = re.compile(_PARENT.pattern + r"/models/(?P<id>[0-9]+)")
# GetModel also takes `{model}@{version_id or alias}` (model_service.proto, GetModelRequest.name).
_MODEL_VERSION = re.compile(_MODEL.pattern + r"(?:@(?P<version>[a-z0-9][a-z0-9-]*))?")
_ENDPOINT = re.compile(_PARENT.pattern + r"/endpoints/(?P<id>[0-9]+)")


def parse_parent(parent: str, locations: Sequence[str] = SERVED_LOCATIONS) -> tuple[str, str]:
    """Returns (project, location) of `projects/P/locations/L`, L one of `locations`."""
    match = _PARENT.fullmatch(parent)
    if match is None:
        raise invalid(f"invalid parent {parent!r}: expected projects/PROJECT/locations/LOCATION")
    _check_location(match["location"], locations)
    return match["project"], match["location"]


def _parse_resource(
    pattern: re.Pattern[str],
    name: str,
    kind: str,
    shape: str,
    locations: Sequence[str] = SERVED_LOCATIONS,
) -> re.Match[str]:
    match = pattern.fullmatch(name)
    if match is None:
        raise invalid(f"invalid {kind} name {name!r}: expected {shape}")
    _check_location(match["location"], locations)
    return match


def parse_job_name(name: str) -> str:
    """Validates a pipeline job name; returns its parent."""
    _parse_resource(_JOB, name, "pipeline job",
                    "projects/PROJECT/locations/LOCATION/pipelineJobs/ID", PIPELINE_LOCATIONS)
    return name.rsplit("/", 2)[0]


def parse_tuning_job_name(name: str) -> str:
    """Validates a tuning job name; returns its parent."""
    _parse_resource(_TUNING_JOB, name, "tuning job",
                    "projects/PROJECT/locations/LOCATION/tuningJobs/NUMERIC_ID",
                    GEMINI_TUNING_LOCATIONS)
    return name.rsplit("/", 2)[0]


def parse_model_name(name: str) -> str:
    """Validates a model name; returns its parent."""
    _parse_resource(_MODEL, name, "model",
                    "projects/PROJECT/locations/LOCATION/models/NUMERIC_ID")
    return name.rsplit("/", 2)[0]


def parse_model_version(name: str) -> tuple[str, str | None]:
    """Validates `.../models/ID` or `.../models/ID@VERSION`; returns (model name, version)."""
    match = _parse_resource(_MODEL_VERSION, name, "model",
                            "projects/PROJECT/locations/LOCATION/models/NUMERIC_ID[@VERSION]")
    return name.split("@", 1)[0], match["version"]


def parse_endpoint_name(name: str) -> str:
    """Validates an endpoint name; returns its parent."""
    _parse_resource(_ENDPOINT, name, "endpoint",
                    "projects/PROJECT/locations/LOCATION/endpoints/NUMERIC_ID")
    return name.rsplit("/", 2)[0]


def job_name(parent: str, job_id: str) -> str:
    return f"{parent}/pipelineJobs/{job_id}"


def tuning_job_name(parent: str, job_id: int) -> str:
    return f"{parent}/tuningJobs/{job_id}"


def model_parent(project: str, location: str = MODEL_LOCATION) -> str:
    return f"projects/{project}/locations/{location}"


def _check_location(location: str, locations: Sequence[str]) -> None:
    if location not in locations:
        raise invalid(
            f"location {location!r} is not supported; use one of {', '.join(locations)}"
        )
