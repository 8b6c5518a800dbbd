"""PURE: open-model supervised-tuning JSONL, and an offline estimate of each example's tokens.

Not Gemini's `contents` format: the open-model data guide (GoogleCloudPlatform/
vertex-ai-samples, skills/vertex-tuning/open-model/references/data_prep.md, and the MetaMath
notebook of GoogleCloudPlatform/generative-ai, open-models/fine-tuning/) gives two formats:

- chat: `{"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}`;
- instruction: `{"prompt": ..., "completion": ...}`.

Each line is one of them, with no empty value ("Ensure every example has a valid
prompt/user message and completion/assistant response"). tuneops also asks what a chat
example needs to teach anything: a user turn, a system turn only first, and the assistant's
turn last.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from reconciler.core.desired import Role
from reconciler.kinds.base import TOKENS_CLEARLY_OVER, DatasetFormat
from reconciler.kinds.open_model_catalog import (
    MAX_TRAINING_EXAMPLES,
    MAX_VALIDATION_EXAMPLES,
    RECOMMENDED_EXAMPLES,
    OpenModel,
)

ROLES = ("system", "user", "assistant")
# UTF-8 takes at most 4 bytes a character: a line longer than this is far over any limit.
MAX_BYTES_PER_CHARACTER = 4


def _text(value: Any, where: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"{where} must be a non-empty string"
    return None


def _check_messages(messages: Any) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list of {role, content}"
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict) or set(message) != {"role", "content"}:
            return f"{where} must be an object with exactly 'role' and 'content'"
        if message["role"] not in ROLES:
            return f"{where}.role must be one of {', '.join(ROLES)}"
        if message["role"] == "system" and index:
            return f"{where}: a system message may only come first"
        if problem := _text(message["content"], f"{where}.content"):
            return problem
    roles = [message["role"] for message in messages]
    if "user" not in roles:
        return "'messages' needs a user message"
    if roles[-1] != "assistant":
        return "the last message must be the assistant's (what the model learns to answer)"
    return None


def check_example(record: dict[str, Any]) -> str | None:
    """Why a line is not an open-model tuning example, or None."""
    if "messages" in record:
        if set(record) != {"messages"}:
            extra = ", ".join(sorted(set(record) - {"messages"}))
            return f"unknown field(s) {extra}; a chat example has only 'messages'"
        return _check_messages(record["messages"])
    if set(record) != {"prompt", "completion"}:
        return ("a line has 'messages' (chat) or exactly 'prompt' and 'completion' "
                "(instruction)")
    return _text(record["prompt"], "'prompt'") or _text(record["completion"], "'completion'")


def _characters(record: dict[str, Any]) -> int:
    if "messages" in record:
        return sum(len(message["content"]) for message in record["messages"])
    return len(record["prompt"]) + len(record["completion"])


def _examine(tokens_per_character: float, record: dict[str, Any]) -> tuple[str | None, int]:
    """Why a line is not an example (None: it is fine), and its estimated tokens."""
    problem = check_example(record)
    if problem:
        return problem, 0
    return None, math.ceil(_characters(record) * tokens_per_character)


def dataset_format(model: OpenModel, mode: str, role: Role) -> DatasetFormat:
    ratio = model.tokens_per_character
    limit = model.sequence_limit(mode)
    training = role == "training"
    return DatasetFormat(
        # The cache keeps each file's checks and token count by this name: it names what
        # they depend on.
        name=f"open-model:{ratio}:{limit}",
        check=partial(_examine, ratio),
        examples=(1, MAX_TRAINING_EXAMPLES if training else MAX_VALIDATION_EXAMPLES),
        recommended=RECOMMENDED_EXAMPLES if training else 0,
        tokens=True,
        tokens_how=f"estimated as {ratio} tokens a character",
        max_tokens=limit,
        # An example at twice the limit is refused anyway; allow its bytes and more.
        max_line_bytes=int(limit / ratio * MAX_BYTES_PER_CHARACTER * TOKENS_CLEARLY_OVER * 2),
    )
