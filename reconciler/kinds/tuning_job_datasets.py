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
# The role of each turn, by its index modulo 2.
_ROLES = ("user", "model")


def _part(part: Any) -> str | None:
    """What is wrong with one part, said after where it is (None: it is fine)."""
    if not isinstance(part, dict):
        return " must be an object"
    if "fileData" in part:
        return None  # a file reference: the service checks it
    for key, payload in FUNCTION_PARTS.items():
        if key in part:
            call = part[key]
            if not (isinstance(call, dict) and isinstance(call.get("name"), str)
                    and call["name"] and isinstance(call.get(payload, {}), dict)):
                return f".{key} must be an object with a 'name' and an object '{payload}'"
            return None
    text = part.get("text")
    # `not text or text.isspace()` is `not text.strip()`, without copying the text.
    if not isinstance(text, str) or not text or text.isspace():
        return ".text must be a non-empty string"
    return None


def _parts(parts: Any) -> tuple[str | None, int]:
    """What is wrong with `parts`, said after where they are (None: they are fine), and the
    UTF-8 bytes of their text. Messages are built only for a problem: this runs per part of
    every example."""
    if not isinstance(parts, list) or not parts:
        return ".parts must be a non-empty list of parts", 0
    size = 0
    for index, part in enumerate(parts):
        if problem := _part(part):
            return f".parts[{index}]{problem}", 0
        text = part.get("text")
        if isinstance(text, str):  # a file reference's text counts too; the service checks it
            size += len(text) if text.isascii() else len(text.encode())
    return None, size


def _line(record: dict[str, Any]) -> tuple[str | None, int]:
    """The line's keys, system instruction and tools: what is wrong (None: fine), and the
    UTF-8 bytes of the instruction's text."""
    if not LINE_KEYS.issuperset(record):
        unknown = sorted(set(record) - LINE_KEYS)
        return (f"unknown field(s) {', '.join(unknown)}; a line has contents, and optionally "
                "systemInstruction and tools"), 0
    spelt = [key for key in INSTRUCTION_KEYS if key in record]
    if len(spelt) > 1:
        return "give the system instruction once, as systemInstruction or system_instruction", 0
    tools = record.get("tools")
    if tools is not None and not (isinstance(tools, list) and all(
            isinstance(tool, dict) for tool in tools)):
        return "'tools' must be a list of objects (functionDeclarations, ...)", 0
    if not spelt:
        return None, 0
    instruction = record[spelt[0]]
    if not isinstance(instruction, dict):
        return f"'{spelt[0]}' must be an object with 'parts'", 0
    problem, size = _parts(instruction.get("parts"))
    return (f"{spelt[0]}{problem}", 0) if problem else (None, size)


def _text_bytes(parts: Any) -> int:
    """The UTF-8 bytes of `parts` if each is just a non-empty `{"text": str}`; else -1."""
    if type(parts) is not list or not parts:
        return -1
    size = 0
    for part in parts:
        if type(part) is not dict or len(part) != 1:
            return -1
        text = part.get("text")
        if type(text) is not str or not text or text.isspace():
            return -1
        size += len(text) if text.isascii() else len(text.encode())
    return size


def examine(record: dict[str, Any]) -> tuple[str | None, int]:
    """One walk of an example: why it is invalid (None: it is fine), and about how many
    tokens its text is (UTF-8 bytes / 4, rounded up).

    Most examples are text turns with their roles, perhaps a system instruction: those are
    taken here with exact type checks, in under half the time of the full walk. Anything
    else, valid or not, is left to the full walk, so its messages and estimates are the
    only ones there are (tests/test_tuning_job.py checks both agree).
    """
    turns = record.get("contents")
    if type(turns) is not list or not turns or len(turns) % 2:
        return _examine_fully(record)
    size = 0
    if len(record) != 1:
        instruction = record.get("systemInstruction") or record.get("system_instruction")
        if (len(record) != 2 or type(instruction) is not dict
                or (size := _text_bytes(instruction.get("parts"))) < 0):
            return _examine_fully(record)
    for index, turn in enumerate(turns):
        if (type(turn) is not dict or turn.get("role") != _ROLES[index % 2]
                or (text := _text_bytes(turn.get("parts"))) < 0):
            return _examine_fully(record)
        size += text
    return None, -(-size // BYTES_PER_TOKEN)


def _examine_fully(record: dict[str, Any]) -> tuple[str | None, int]:
    """examine for every shape: each rule checked in order, the first broken one said."""
    problem, size = _line(record)
    if problem:
        return problem, 0
    contents = record.get("contents")
    if not isinstance(contents, list) or not contents:
        return "'contents' must be a non-empty list of {role, parts}", 0
    single = len(contents) <= 2
    for index, turn in enumerate(contents):
        expected = _ROLES[index % 2]
        if not isinstance(turn, dict):
            return f"contents[{index}] must be an object with 'role' and 'parts'", 0
        role = turn.get("role")
        if role != expected and not (single and role in (None, "")):
            return (f"contents[{index}].role must be '{expected}' (roles alternate user/model, "
                    "starting with user; only a single-turn example may leave them unset)"), 0
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
