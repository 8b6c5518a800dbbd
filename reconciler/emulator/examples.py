"""What a tuning run finds wrong with its input objects once it runs.

The real services read and check a dataset inside the run, so a missing object or a bad
example makes the job FAILED rather than failing the create call (kubeflow/pipelines
google_cloud_pipeline_components/_implementation/llm/: the dataset is read by a pipeline
component, not by CreatePipelineJob; a TuningJob likewise). Deliberately simple: each
service checks each non-empty line is a JSON object with the fields its format names.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import BinaryIO

from google.rpc import status_pb2

INVALID_ARGUMENT = 3  # google.rpc.Code
FAILED_PRECONDITION = 9  # google.rpc.Code

# Opens the object's bytes as a stream (the caller closes it), or None if there is no such
# object (or bucket): datasets are read a line at a time, never whole.
ReadObject = Callable[[str], BinaryIO | None]
# Why one example (a JSON object) is not of the format, or None.
CheckExample = Callable[[dict[str, object]], str | None]
# Lines are read with this bound, so memory stays flat even without newlines; a longer line
# fails as invalid JSON (undocumented: the service publishes no line limit of its own).
LINE_BYTES = 16 << 20


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
        with content:
            found = jsonl_problem(content, check)
        if found is not None:
            return status_pb2.Status(code=INVALID_ARGUMENT, message=f"{kind} object {uri}: {found}")
    return None


def jsonl_problem(content: bytes | BinaryIO, check: CheckExample) -> str | None:
    """The first line of JSONL `content` that is not an object passing `check`; None if fine.

    Streamed: one line of `content` in memory at a time.
    """
    stream = io.BytesIO(content) if isinstance(content, bytes) else content
    examples = 0
    offset = 0
    for number, raw in enumerate(iter(lambda: stream.readline(LINE_BYTES), b""), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            return f"not UTF-8 at byte {offset + err.start}"
        offset += len(raw)
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
