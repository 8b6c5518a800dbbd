"""PURE: Gemini supervised-tuning JSONL, and an offline estimate of each example's tokens.

A line is `{"systemInstruction": {"parts": [{"text": ...}]}?, "contents": [{"role":
"user"|"model", "parts": [{"text": ...}, ...]}, ...], "tools": [...]?}` ("Prepare supervised
fine-tuning data for Gemini models"; "Tune function calling", whose examples spell
`system_instruction` and declare `tools`): roles alternate, starting with `user` and ending
with `model`; a part is non-empty `text`, a `functionCall` (`name`, `args`), a
`functionResponse` (`name`, `response`) or a `fileData` left to the service. A role may be
unset on a single-turn example (Content.role: "Useful to set for multi-turn conversations,
otherwise can be left blank or unset"): its two turns are then user and model by position.
The service drops the examples it cannot use and counts them (tuning_data_stats), so what is
checked here is what the documentation asks, and `status` reports what the service dropped.
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


# The keys of a line, and the spellings of its system instruction.
INSTRUCTION_KEYS = ("systemInstruction", "system_instruction")
LINE_KEYS = frozenset({*INSTRUCTION_KEYS, "contents", "tools"})
# A function call or response part: an object with a name (and its args or response).
FUNCTION_PARTS = {"functionCall": "args", "functionResponse": "response"}


def _part(part: Any, where: str) -> str | None:
    if not isinstance(part, dict):
        return f"{where} must be an object"
    if "fileData" in part:
        return None  # a file reference: the service checks it
    for key, payload in FUNCTION_PARTS.items():
        if key in part:
            call = part[key]
            if not (isinstance(call, dict) and isinstance(call.get("name"), str)
                    and call["name"] and isinstance(call.get(payload, {}), dict)):
                return f"{where}.{key} must be an object with a 'name' and an object '{payload}'"
            return None
    text = part.get("text")
    if not isinstance(text, str) or not text.strip():
        return f"{where}.text must be a non-empty string"
    return None


def _parts(parts: Any, where: str) -> str | None:
    if not isinstance(parts, list) or not parts:
        return f"{where}.parts must be a non-empty list of parts"
    for index, part in enumerate(parts):
        if problem := _part(part, f"{where}.parts[{index}]"):
            return problem
    return None


def _instruction(record: dict[str, Any]) -> tuple[str, Any]:
    """The system instruction's key as spelt, and its value (None when there is none)."""
    for key in INSTRUCTION_KEYS:
        if key in record:
            return key, record[key]
    return INSTRUCTION_KEYS[0], None


def _turns(contents: list[Any]) -> str | None:
    single = len(contents) <= 2
    for index, turn in enumerate(contents):
        expected = "user" if index % 2 == 0 else "model"
        if not isinstance(turn, dict):
            return f"contents[{index}] must be an object with 'role' and 'parts'"
        role = turn.get("role")
        if role != expected and not (single and role in (None, "")):
            return (f"contents[{index}].role must be '{expected}' (roles alternate user/model, "
                    "starting with user; only a single-turn example may leave them unset)")
        if problem := _parts(turn.get("parts"), f"contents[{index}]"):
            return problem
    return None


def check_contents(record: dict[str, Any]) -> str | None:
    unknown = sorted(set(record) - LINE_KEYS)
    if unknown:
        return (f"unknown field(s) {', '.join(unknown)}; a line has contents, and optionally "
                "systemInstruction and tools")
    if sum(key in record for key in INSTRUCTION_KEYS) > 1:
        return "give the system instruction once, as systemInstruction or system_instruction"
    key, instruction = _instruction(record)
    if instruction is not None:
        if not isinstance(instruction, dict):
            return f"'{key}' must be an object with 'parts'"
        if problem := _parts(instruction.get("parts"), key):
            return problem
    tools = record.get("tools")
    if tools is not None and not (isinstance(tools, list) and all(
            isinstance(tool, dict) for tool in tools)):
        return "'tools' must be a list of objects (functionDeclarations, ...)"
    contents = record.get("contents")
    if not isinstance(contents, list) or not contents:
        return "'contents' must be a non-empty list of {role, parts}"
    if problem := _turns(contents):
        return problem
    if len(contents) % 2:
        return "the last turn must be from 'model'"
    return None


def _texts(record: dict[str, Any]) -> list[str]:
    turns = [_instruction(record)[1] or {}, *record.get("contents", [])]
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
