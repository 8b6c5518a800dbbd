"""What an open-model tuning run finds wrong with a dataset line once it runs.

The formats (GoogleCloudPlatform/vertex-ai-samples, skills/vertex-tuning/open-model/
references/data_prep.md): chat `{"messages": [{"role", "content"}, ...]}` or instruction
`{"prompt", "completion"}`. Deliberately simple, like the samples' own validator
(scripts/prepare_dataset.py, `_validate_example`): each message has a role and a non-empty
content, or both prompt and completion are non-empty. Like Gemini's, the job reads its
dataset only once running, so a problem fails the job rather than the create call.
"""

from __future__ import annotations


def open_model_example(record: dict[str, object]) -> str | None:
    """Why one line is not an open-model tuning example, or None."""
    if "messages" in record:
        messages = record["messages"]
        if not isinstance(messages, list) or not messages:
            return "messages must be a non-empty list"
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or "role" not in message:
                return f"messages[{index}] must be an object with role and content"
            if not message.get("content"):
                return f"messages[{index}].content must not be empty"
        return None
    if not (record.get("prompt") and record.get("completion")):
        return "an example has messages, or a prompt and a completion"
    return None
