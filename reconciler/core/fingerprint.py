"""PURE: the fingerprint of a job's weight inputs, and digests of other canonical values.

Like sqlmesh's data vs metadata hash: a change to a weight input means a new tuning run; a
change to metadata (display name, description, labels) is applied to the Model in place.
Which fields are weight inputs, and their canonical form, is each job kind's to say.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

# 40 hex digits (160 bits): collision-free in practice and short enough for a label value.
FINGERPRINT_LENGTH = 40


def digest(value: Any, length: int = FINGERPRINT_LENGTH) -> str:
    """sha256 of canonical JSON: stable across runs, machines and key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def metadata_digest(display_name: str, labels: Mapping[str, str]) -> str:
    """What tuneops last wrote on a Model that a console edit can change."""
    return digest({"model_display_name": display_name, "labels": dict(labels)})


def fingerprint(canonical_inputs: Mapping[str, Any]) -> str:
    """The hash of a job's weight inputs: it names the job, so it must never drift."""
    return digest(dict(canonical_inputs))
