"""PURE: the reference's two JSONL formats (code-generation and code-chat) and their limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from reconciler.core.desired import Role
from reconciler.kinds.base import DatasetFormat, RecordCheck

# "Your dataset must include a minimum of 10 examples, but we recommend at least 500";
# at most 10,000 training and 250 evaluation examples.
EXAMPLES: dict[Role, tuple[int, int]] = {"training": (10, 10_000), "evaluation": (10, 250)}
RECOMMENDED_EXAMPLES = 500
# A leading directive such as "Write the code in Python:" is what the reference calls an
# instruction; "Calculate the sum of a list of integers." alone has none.
INSTRUCTION = re.compile(r"^\s*[^:\n]{3,120}:\s")


def check_generation(record: dict[str, Any]) -> str | None:
    for key in ("input_text", "output_text"):
        value = record.get(key)
        if not isinstance(value, str) or not value.strip():
            return f"'{key}' must be a non-empty string"
    return None


def check_chat(record: dict[str, Any]) -> str | None:
    context = record.get("context")
    if context is not None and not isinstance(context, str):
        return "'context' must be a string"
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list of {author, content}"
    for index, message in enumerate(messages):
        expected = "user" if index % 2 == 0 else "assistant"
        if not isinstance(message, dict):
            return f"messages[{index}] must be an object with 'author' and 'content'"
        if message.get("author") != expected:
            return (f"messages[{index}].author must be '{expected}' (authors alternate "
                    "user/assistant, starting with user)")
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            return f"messages[{index}].content must be a non-empty string"
    if len(messages) % 2:
        return "the last message must be from 'assistant'"
    return None


def lacks_instruction(record: dict[str, Any]) -> bool:
    text = record.get("input_text")
    return isinstance(text, str) and not INSTRUCTION.match(text)


def _untokened(check: Callable[[dict[str, Any]], str | None]) -> RecordCheck:
    """The reference's formats estimate no tokens: their runs bill by accelerator-hours."""
    return lambda record: (check(record), 0)


def _format(task: str, role: Role) -> DatasetFormat:
    generation = task == "code-generation"
    return DatasetFormat(
        name=task,
        check=_untokened(check_generation if generation else check_chat),
        examples=EXAMPLES[role],
        recommended=RECOMMENDED_EXAMPLES if role == "training" else 0,
        lacks_instruction=lacks_instruction if generation else None,
    )


FORMATS: dict[tuple[str, Role], DatasetFormat] = {
    (task, role): _format(task, role)
    for task in ("code-generation", "code-chat") for role in ("training", "evaluation")
}
