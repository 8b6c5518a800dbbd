"""What a Gemini supervised tuning run makes of its datasets once it runs.

The format (Vertex AI, "Prepare supervised fine-tuning data for Gemini models", and "Tune
function calling"): `{"systemInstruction" | "system_instruction": {"parts": [...]}?,
"contents": [{"role": "user"|"model", "parts": [...]}, ...], "tools": [...]?}`, a part being
`text`, `fileData`, `functionCall` or `functionResponse`; a role may be left unset (Content.
role: "Useful to set for multi-turn conversations, otherwise can be left blank or unset",
content.proto). Like a pipeline, the job reads its dataset only once running. It does not
fail on a bad example: it drops it and counts it (SupervisedTuningDataStats:
total_truncated_example_count "The number of examples in the dataset that have been dropped",
truncated_example_indices, dropped_example_reasons). A missing object fails the run, and so
does a dataset with no example left to tune on. Deliberately simple: a line is checked for
the shape above, nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from google.cloud.aiplatform_v1.types.tuning_job import SupervisedTuningDataStats, TuningDataStats
from google.rpc import status_pb2

from reconciler.emulator.examples import (
    FAILED_PRECONDITION,
    INVALID_ARGUMENT,
    LINE_BYTES,
    ReadObject,
)

ROLES = ("user", "model")
PARTS = ("text", "fileData", "functionCall", "functionResponse")
# How many dropped examples' indices and reasons the stats keep ("A partial sample").
SAMPLE = 10
# "A token is equivalent to about 4 characters" (Vertex AI): how the emulator bills.
CHARACTERS_PER_TOKEN = 4


def gemini_example(record: dict[str, Any]) -> str | None:
    """Why one line is not a Gemini tuning example, or None."""
    contents = record.get("contents")
    if not isinstance(contents, list) or not contents:
        return "contents must be a non-empty list"
    for index, turn in enumerate(contents):
        if not isinstance(turn, dict):
            return f"contents[{index}] must be an object with role and parts"
        if turn.get("role", "") not in ("", *ROLES):
            return f"contents[{index}].role must be one of {', '.join(ROLES)}"
        parts = turn.get("parts")
        if not isinstance(parts, list) or not parts or not all(
                isinstance(part, dict) and any(key in part for key in PARTS) for part in parts):
            return f"contents[{index}].parts must be a non-empty list of parts"
    return None


def _characters(record: dict[str, Any]) -> int:
    return sum(len(part.get("text", "")) for turn in record["contents"]
               for part in turn["parts"] if isinstance(part.get("text", ""), str))


# Why a run fails on a dataset object: a google.rpc.Code and what to say after the object.
Failure = tuple[int, str]


def _read(uri: str, read: ReadObject) -> tuple[SupervisedTuningDataStats, Failure | None]:
    """The stats of one dataset object, and why the run fails on it (None: it does not)."""
    content = read(uri)
    if content is None:
        return SupervisedTuningDataStats(), (FAILED_PRECONDITION, "not found")
    stats = SupervisedTuningDataStats()
    examples = 0
    with content:
        for number, raw in enumerate(iter(lambda: content.readline(LINE_BYTES), b""),
                                     start=1):
            if not raw.strip():
                continue
            problem = _problem(raw)
            if isinstance(problem, str):
                stats.total_truncated_example_count += 1
                if len(stats.truncated_example_indices) < SAMPLE:
                    stats.truncated_example_indices.append(number)
                    stats.dropped_example_reasons.append(problem)
                continue
            examples += 1
            stats.total_tuning_character_count += _characters(problem)
    stats.tuning_dataset_example_count = examples
    stats.total_billable_token_count = -(-stats.total_tuning_character_count
                                        // CHARACTERS_PER_TOKEN)
    return stats, None if examples else (INVALID_ARGUMENT, "has no valid example to tune on")


def _problem(raw: bytes) -> str | dict[str, Any]:
    """Why a line is dropped, or the example it holds."""
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "not a JSON object in UTF-8"
    if not isinstance(record, dict):
        return "not a JSON object"
    return gemini_example(record) or record


def dataset_stats(objects: Iterable[tuple[str, str]], read: ReadObject
                  ) -> tuple[status_pb2.Status | None, TuningDataStats]:
    """The error a run reading `objects` (what, uri) ends with (None: none), and what it
    reports of its training dataset (the first object)."""
    reported = SupervisedTuningDataStats()
    for index, (kind, uri) in enumerate(objects):
        stats, failure = _read(uri, read)
        if index == 0:
            reported = stats
        if failure is not None:
            code, why = failure
            return (status_pb2.Status(code=code, message=f"{kind} object {uri} {why}"),
                    TuningDataStats(supervised_tuning_data_stats=reported))
    return None, TuningDataStats(supervised_tuning_data_stats=reported)
