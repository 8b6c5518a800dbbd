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


def _parts(parts: Any, where: str) -> str | None:
    if not isinstance(parts, list) or not parts:
        return f"{where}.parts must be a non-empty list of parts"
    for index, part in enumerate(parts):
        if not isinstance(part, dict):
            return f"{where}.parts[{index}] must be an object"
        if "fileData" in part:
            continue  # a file reference: the service checks it
        text = part.get("text")
        if not isinstance(text, str) or not text.strip():
            return f"{where}.parts[{index}].text must be a non-empty string"
    return None


def check_contents(record: dict[str, Any]) -> str | None:
    unknown = sorted(set(record) - {"systemInstruction", "contents"})
    if unknown:
        return f"unknown field(s) {', '.join(unknown)}; a line has contents and an optional " \
               "systemInstruction"
    instruction = record.get("systemInstruction")
    if instruction is not None:
        if not isinstance(instruction, dict):
            return "'systemInstruction' must be an object with 'parts'"
        if problem := _parts(instruction.get("parts"), "systemInstruction"):
            return problem
    contents = record.get("contents")
    if not isinstance(contents, list) or not contents:
        return "'contents' must be a non-empty list of {role, parts}"
    for index, turn in enumerate(contents):
        expected = "user" if index % 2 == 0 else "model"
        if not isinstance(turn, dict):
            return f"contents[{index}] must be an object with 'role' and 'parts'"
        if turn.get("role") != expected:
            return (f"contents[{index}].role must be '{expected}' (roles alternate user/model, "
                    "starting with user)")
        if problem := _parts(turn.get("parts"), f"contents[{index}]"):
            return problem
    if len(contents) % 2:
        return "the last turn must be from 'model'"
    return None


def _texts(record: dict[str, Any]) -> list[str]:
    turns = [record.get("systemInstruction") or {}, *record.get("contents", [])]
    return [part["text"] for turn in turns for part in turn.get("parts", [])
            if isinstance(part.get("text"), str)]


def estimate_tokens(record: dict[str, Any]) -> int:
    """About how many tokens an example's text is: its UTF-8 bytes / 4, rounded up."""
    size = sum(len(text.encode()) for text in _texts(record))
    return -(-size // BYTES_PER_TOKEN)


def dataset_format(limits: ModelLimits, role: Role) -> DatasetFormat:
    maximum = (limits.max_training_examples if role == "training"
               else limits.max_validation_examples)
    return DatasetFormat(
        name="gemini",
        check=check_contents,
        examples=(MIN_TRAINING_EXAMPLES if role == "training" else 1, maximum),
        recommended=RECOMMENDED_EXAMPLES if role == "training" else 0,
        tokens=estimate_tokens,
        tokens_how=f"estimated as UTF-8 bytes / {BYTES_PER_TOKEN}",
        max_tokens=limits.max_tokens,
        max_bytes=limits.max_training_bytes,
        # An example at twice the token limit is refused anyway; allow its bytes and more.
        max_line_bytes=int(limits.max_tokens * BYTES_PER_TOKEN * TOKENS_CLEARLY_OVER * 2),
    )
