"""What a Gemini supervised tuning run finds wrong with a dataset line once it runs.

The format (DESIGN.md "TuningJob facts", from the Vertex AI supervised tuning data docs):
`{"systemInstruction": {"parts": [...]}?, "contents": [{"role": "user"|"model", "parts":
[{"text": ...}]}, ...]}`. Deliberately simple, like the pipeline's check: each non-empty
line is an object whose `contents` is a non-empty list of `{role, parts}` turns. Like a
pipeline, the tuning job reads its dataset only once running, so a problem fails the job
rather than the create call.
"""

from __future__ import annotations

ROLES = ("user", "model")


def gemini_example(record: dict[str, object]) -> str | None:
    """Why one line is not a Gemini tuning example, or None."""
    contents = record.get("contents")
    if not isinstance(contents, list) or not contents:
        return "contents must be a non-empty list"
    for index, turn in enumerate(contents):
        if not isinstance(turn, dict):
            return f"contents[{index}] must be an object with role and parts"
        if turn.get("role") not in ROLES:
            return f"contents[{index}].role must be one of {', '.join(ROLES)}"
        parts = turn.get("parts")
        if not isinstance(parts, list) or not parts:
            return f"contents[{index}].parts must be a non-empty list"
    return None
