"""PURE: Gemini supervised-tuning JSONL, and an offline estimate of each example's tokens.

A line is `{"systemInstruction": {"parts": [{"text": ...}]}?, "contents": [{"role":
"user"|"model", "parts": [{"text": ...}, ...]}, ...]}`: roles alternate, starting with
`user` and ending with `model`, and every part has non-empty text (a `fileData` part is
accepted and left to the service).
"""

from __future__ import annotations

from typing import Any

from reconciler.core.desired import Role
from reconciler.kinds.base import TOKENS_CLEARLY_OVER, DatasetFormat
from reconciler.kinds.gemini import MIN_TRAINING_EXAMPLES, RECOMMENDED_EXAMPLES, ModelLimits

# Vertex AI's rule of thumb, "a token is equivalent to about 4 characters"; counted in UTF-8
# bytes so text in scripts of many bytes per character is not underestimated. Offline, and
# close enough to warn: the service counts exactly and refuses what is over.
BYTES_PER_TOKEN = 4
_FIELDS = frozenset({"systemInstruction", "contents"})


def _parts(parts: Any) -> tuple[str | None, int]:
    """What is wrong with `parts`, said after where they are (None: they are fine), and the
    UTF-8 bytes of their text. Messages are built only for a problem: this runs per part of
    every example."""
    if not isinstance(parts, list) or not parts:
        return ".parts must be a non-empty list of parts", 0
    size = 0
    for index, part in enumerate(parts):
        if not isinstance(part, dict):
            return f".parts[{index}] must be an object", 0
        text = part.get("text")
        # `not text or text.isspace()` is `not text.strip()`, without copying the text.
        if "fileData" not in part and (not isinstance(text, str) or not text
                                       or text.isspace()):
            return f".parts[{index}].text must be a non-empty string", 0
        if isinstance(text, str):  # a file reference's text counts too; the service checks it
            size += len(text) if text.isascii() else len(text.encode())
    return None, size


def examine(record: dict[str, Any]) -> tuple[str | None, int]:
    """One walk of an example: why it is invalid (None: it is fine), and about how many
    tokens its text is (UTF-8 bytes / 4, rounded up)."""
    if not _FIELDS.issuperset(record):
        unknown = sorted(set(record) - _FIELDS)
        return (f"unknown field(s) {', '.join(unknown)}; a line has contents and an optional "
                "systemInstruction"), 0
    size = 0
    instruction = record.get("systemInstruction")
    if instruction is not None:
        if not isinstance(instruction, dict):
            return "'systemInstruction' must be an object with 'parts'", 0
        problem, size = _parts(instruction.get("parts"))
        if problem:
            return f"systemInstruction{problem}", 0
    contents = record.get("contents")
    if not isinstance(contents, list) or not contents:
        return "'contents' must be a non-empty list of {role, parts}", 0
    for index, turn in enumerate(contents):
        expected = "model" if index % 2 else "user"
        if not isinstance(turn, dict):
            return f"contents[{index}] must be an object with 'role' and 'parts'", 0
        if turn.get("role") != expected:
            return (f"contents[{index}].role must be '{expected}' (roles alternate user/model, "
                    "starting with user)"), 0
        problem, text = _parts(turn.get("parts"))
        if problem:
            return f"contents[{index}]{problem}", 0
        size += text
    if len(contents) % 2:
        return "the last turn must be from 'model'", 0
    return None, -(-size // BYTES_PER_TOKEN)


def dataset_format(limits: ModelLimits, role: Role) -> DatasetFormat:
    maximum = (limits.max_training_examples if role == "training"
               else limits.max_validation_examples)
    return DatasetFormat(
        name="gemini",
        check=examine,
        examples=(MIN_TRAINING_EXAMPLES if role == "training" else 1, maximum),
        recommended=RECOMMENDED_EXAMPLES if role == "training" else 0,
        tokens=True,
        tokens_how=f"estimated as UTF-8 bytes / {BYTES_PER_TOKEN}",
        max_tokens=limits.max_tokens,
        max_bytes=limits.max_training_bytes,
        # An example at twice the token limit is refused anyway; allow its bytes and more.
        max_line_bytes=int(limits.max_tokens * BYTES_PER_TOKEN * TOKENS_CLEARLY_OVER * 2),
    )
