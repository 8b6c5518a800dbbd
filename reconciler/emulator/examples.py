"""What a tuning run finds wrong with its input objects once it runs.

The real services read and check a dataset inside the run, so a missing object or a bad
example makes the job FAILED rather than failing the create call (kubeflow/pipelines
google_cloud_pipeline_components/_implementation/llm/: the dataset is read by a pipeline
component, not by CreatePipelineJob; a TuningJob likewise). Deliberately simple: each
service checks each non-empty line is a JSON object with the fields its format names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from google.rpc import status_pb2

INVALID_ARGUMENT = 3  # google.rpc.Code
FAILED_PRECONDITION = 9  # google.rpc.Code

# Returns the object's bytes, or None if there is no such object (or bucket).
ReadObject = Callable[[str], bytes | None]
# Why one example (a JSON object) is not of the format, or None.
CheckExample = Callable[[dict[str, object]], str | None]


def dataset_failure(
    objects: Iterable[tuple[str, str]], read: ReadObject, check: CheckExample
) -> status_pb2.Status | None:
    """The error a run reading `objects` (what, uri) will end with, or None if they are fine."""
    for kind, uri in objects:
        content = read(uri)
        if content is None:
            return status_pb2.Status(
                code=FAILED_PRECONDITION, message=f"{kind} object {uri} not found"
            )
        found = jsonl_problem(content, check)
        if found is not None:
            return status_pb2.Status(code=INVALID_ARGUMENT, message=f"{kind} object {uri}: {found}")
    return None


def jsonl_problem(content: bytes, check: CheckExample) -> str | None:
    """The first line of JSONL `content` that is not an object passing `check`; None if fine."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"not UTF-8 at byte {err.start}"
    examples = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as err:
            return f"line {number} is not valid JSON: {err}"
        if not isinstance(record, dict):
            return f"line {number} is not a JSON object"
        problem = check(record)
        if problem is not None:
            return f"line {number}: {problem}"
        examples += 1
    return None if examples else "has no examples"
