"""PURE: the reference's two dataset formats as Gemini supervised-tuning examples.

code-generation `{"input_text", "output_text"}` becomes a user turn and a model turn;
code-chat `{"context"?, "messages": [{"author", "content"}]}` becomes a systemInstruction
and user/model turns.
"""

from __future__ import annotations

from typing import Any

from reconciler.kinds.pipeline_datasets import check_chat, check_generation

_ROLES = {"user": "user", "assistant": "model"}


def _turn(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "parts": [{"text": text}]}


def to_gemini(record: Any) -> tuple[dict[str, Any] | None, str]:
    """The Gemini example, or None and why the record is neither reference format."""
    if not isinstance(record, dict):
        return None, "each line must be a JSON object"
    if "messages" in record:
        if problem := check_chat(record):
            return None, problem
        converted: dict[str, Any] = {}
        if record.get("context"):
            converted["systemInstruction"] = {"parts": [{"text": record["context"]}]}
        converted["contents"] = [_turn(_ROLES[m["author"]], m["content"])
                                 for m in record["messages"]]
        return converted, ""
    if problem := check_generation(record):
        return None, f"{problem} (or 'messages' for a code-chat example)"
    return {"contents": [_turn("user", record["input_text"]),
                         _turn("model", record["output_text"])]}, ""
