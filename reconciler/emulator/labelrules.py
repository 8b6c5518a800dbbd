"""The label rules the v1 API states for Model.labels and PipelineJob.labels.

googleapis/googleapis google/cloud/aiplatform/v1/model.proto and pipeline_job.proto, `labels`:
"Label keys and values can be no longer than 64 characters (Unicode codepoints), can only
contain lowercase letters, numeric characters, underscores and dashes. International
characters are allowed." Keys must start with a letter (https://goo.gl/xmQnxf). Python's `re`
has no Unicode letter classes, so characters are classified with str methods.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.emulator.errors import invalid

MAX_LABELS = 64
MAX_LENGTH = 64


def validate_labels(labels: Mapping[str, str], where: str) -> None:
    """Raises INVALID_ARGUMENT naming the first label that breaks a rule."""
    if len(labels) > MAX_LABELS:
        raise invalid(f"{where}: at most {MAX_LABELS} labels are allowed, got {len(labels)}")
    for key, value in labels.items():
        if not (key and len(key) <= MAX_LENGTH and _is_letter(key[0]) and _allowed(key)):
            raise invalid(
                f"{where}: invalid label key {key!r} (1 to {MAX_LENGTH} lowercase letters, "
                "digits, '_' or '-', starting with a letter)"
            )
        if not (len(value) <= MAX_LENGTH and _allowed(value)):
            raise invalid(
                f"{where}: invalid value {value!r} for label {key!r} (up to {MAX_LENGTH} "
                "lowercase letters, digits, '_' or '-')"
            )


def _is_letter(char: str) -> bool:
    """A lowercase letter, or a letter of a script without case (e.g. CJK)."""
    return char.islower() or (char.isalpha() and not char.isupper())


def _allowed(text: str) -> bool:
    return all(_is_letter(c) or c.isdigit() or c in "_-" for c in text)
