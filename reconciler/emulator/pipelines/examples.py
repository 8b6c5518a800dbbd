"""The reference's two dataset formats, as the tuning pipeline checks them once it runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

from google.rpc import status_pb2

from reconciler.emulator.examples import CheckExample, ReadObject, dataset_failure, jsonl_problem
from reconciler.emulator.pipelines.validation import CHAT_TEMPLATE


def run_failure(
    template: str, objects: Iterable[tuple[str, str]], read: ReadObject
) -> status_pb2.Status | None:
    """The error a pipeline run will end with, or None if its inputs are fine."""
    return dataset_failure(objects, read, _check(template))


def example_problem(template: str, content: bytes | BinaryIO) -> str | None:
    """The first problem in a JSONL dataset for `template`, naming its line; None if fine."""
    return jsonl_problem(content, _check(template))


def _check(template: str) -> CheckExample:
    return _chat_example if template == CHAT_TEMPLATE else _code_example


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
