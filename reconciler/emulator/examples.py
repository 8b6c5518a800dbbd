"""What the tuning pipeline finds wrong with its input objects once it runs.

The real pipelines read and check the dataset inside the run, so a missing object or a bad
example makes the job FAILED rather than failing the create call (kubeflow/pipelines
google_cloud_pipeline_components/_implementation/llm/: the dataset is read by a pipeline
component, not by CreatePipelineJob). Deliberately simple: each non-empty line must be a JSON
object with the fields the template's dataset format names.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import BinaryIO

from google.rpc import status_pb2

from reconciler.emulator.validation import CHAT_TEMPLATE

INVALID_ARGUMENT = 3  # google.rpc.Code
FAILED_PRECONDITION = 9  # google.rpc.Code

# Opens the object's bytes as a stream (the caller closes it), or None if there is no such
# object (or bucket): datasets are read a line at a time, never whole.
ReadObject = Callable[[str], BinaryIO | None]
# Lines are read with this bound, so memory stays flat even without newlines; a longer line
# fails as invalid JSON (undocumented: the service publishes no line limit of its own).
LINE_BYTES = 16 << 20


def run_failure(
    template: str, objects: Iterable[tuple[str, str]], read: ReadObject
) -> status_pb2.Status | None:
    """The error a pipeline run will end with, or None if its inputs are fine."""
    return dataset_failure(objects, read, lambda content: example_problem(template, content))


def dataset_failure(
    objects: Iterable[tuple[str, str]], read: ReadObject,
    problem: Callable[[BinaryIO], str | None]
) -> status_pb2.Status | None:
    """The error a run reading `objects` (what, uri) will end with, or None if they are fine."""
    for kind, uri in objects:
        content = read(uri)
        if content is None:
            return status_pb2.Status(
                code=FAILED_PRECONDITION, message=f"{kind} object {uri} not found"
            )
        with content:
            found = problem(content)
        if found is not None:
            return status_pb2.Status(code=INVALID_ARGUMENT, message=f"{kind} object {uri}: {found}")
    return None


def example_problem(template: str, content: bytes | BinaryIO) -> str | None:
    """The first problem in a JSONL dataset for `template`, naming its line; None if fine."""
    return jsonl_problem(content, _chat_example if template == CHAT_TEMPLATE else _code_example)


def jsonl_problem(
    content: bytes | BinaryIO, check: Callable[[dict[str, object]], str | None]
) -> str | None:
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


def _code_example(record: dict[str, object]) -> str | None:
    for field in ("input_text", "output_text"):
        value = record.get(field)
        if not (isinstance(value, str) and value):
            return f"{field} must be a non-empty string"
    return None


def _chat_example(record: dict[str, object]) -> str | None:
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list"
    return None
