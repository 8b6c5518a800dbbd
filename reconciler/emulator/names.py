"""Resource names and the locations the emulator serves."""

from __future__ import annotations

import re

from reconciler.emulator.errors import invalid

# The regions where code-bison tuning pipelines run.
TUNING_LOCATIONS = ("us-central1", "europe-west4")
# Tuned models always register here: the pipeline's `location` parameter must be us-central1.
MODEL_LOCATION = "us-central1"

_PARENT = re.compile(r"projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)")
_JOB = re.compile(_PARENT.pattern + r"/pipelineJobs/(?P<id>[^/]+)")
_MODEL = re.compile(_PARENT.pattern + r"/models/(?P<id>[0-9]+)")
_ENDPOINT = re.compile(_PARENT.pattern + r"/endpoints/(?P<id>[0-9]+)")


def parse_parent(parent: str) -> tuple[str, str]:
    """Returns (project, location) of `projects/P/locations/L`, a supported location."""
    match = _PARENT.fullmatch(parent)
    if match is None:
        raise invalid(f"invalid parent {parent!r}: expected projects/PROJECT/locations/LOCATION")
    _check_location(match["location"])
    return match["project"], match["location"]


def _parse_resource(pattern: re.Pattern[str], name: str, kind: str, shape: str) -> str:
    match = pattern.fullmatch(name)
    if match is None:
        raise invalid(f"invalid {kind} name {name!r}: expected {shape}")
    _check_location(match["location"])
    return name.rsplit("/", 2)[0]


def parse_job_name(name: str) -> str:
    """Validates a pipeline job name; returns its parent."""
    return _parse_resource(_JOB, name, "pipeline job",
                           "projects/PROJECT/locations/LOCATION/pipelineJobs/ID")


def parse_model_name(name: str) -> str:
    """Validates a model name; returns its parent."""
    return _parse_resource(_MODEL, name, "model",
                           "projects/PROJECT/locations/LOCATION/models/NUMERIC_ID")


def parse_endpoint_name(name: str) -> str:
    """Validates an endpoint name; returns its parent."""
    return _parse_resource(_ENDPOINT, name, "endpoint",
                           "projects/PROJECT/locations/LOCATION/endpoints/NUMERIC_ID")


def job_name(parent: str, job_id: str) -> str:
    return f"{parent}/pipelineJobs/{job_id}"


def model_parent(project: str) -> str:
    return f"projects/{project}/locations/{MODEL_LOCATION}"


def _check_location(location: str) -> None:
    if location not in TUNING_LOCATIONS:
        raise invalid(
            f"location {location!r} is not supported; use one of {', '.join(TUNING_LOCATIONS)}"
        )
