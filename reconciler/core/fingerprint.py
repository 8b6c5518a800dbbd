"""Which fields change the tuned weights, and the fingerprint over exactly those.

Like sqlmesh's data vs metadata hash: a change to a weight input means a new tuning run; a
change to metadata (display name, description, labels) is applied to the Model in place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from reconciler.load.config import JobSpec
from reconciler.load.datasets import DatasetInfo
from reconciler.reference import TEMPLATE_URIS

WEIGHT_FIELDS = (
    "template_uri",
    "large_model_reference",
    "tuning_location",
    "train_steps",
    "learning_rate_multiplier",
    "dataset_hash",
    "evaluation_dataset_hash",
    "evaluation_interval",
    "enable_early_stopping",
    "encryption_spec_key_name",
)
METADATA_FIELDS = ("model_display_name", "description", "labels")
# 40 hex digits (160 bits): collision-free in practice and short enough for a label value.
FINGERPRINT_LENGTH = 40


def canonical_inputs(values: Mapping[str, Any]) -> dict[str, Any]:
    """Normalises types so 300, 300.0 (how protobuf returns it) and "300" never differ."""
    inputs = {name: values.get(name) for name in WEIGHT_FIELDS}
    if inputs["train_steps"] is not None:
        inputs["train_steps"] = int(inputs["train_steps"])
    if inputs["evaluation_interval"] is not None:
        inputs["evaluation_interval"] = int(inputs["evaluation_interval"])
    if inputs["learning_rate_multiplier"] is not None:
        inputs["learning_rate_multiplier"] = float(inputs["learning_rate_multiplier"])
    return inputs


def weight_inputs(
    spec: JobSpec, dataset: DatasetInfo, evaluation: DatasetInfo | None
) -> dict[str, Any]:
    return canonical_inputs({
        "template_uri": TEMPLATE_URIS[spec.task],
        "large_model_reference": spec.base_model,
        "tuning_location": spec.tuning_location,
        "train_steps": spec.train_steps,
        "learning_rate_multiplier": spec.learning_rate_multiplier,
        "dataset_hash": dataset.content_hash,
        "evaluation_dataset_hash": evaluation.content_hash if evaluation else None,
        "evaluation_interval": spec.evaluation_interval_value,
        "enable_early_stopping": spec.early_stopping_value,
        "encryption_spec_key_name": spec.encryption_spec_key_name,
    })


def metadata(spec: JobSpec) -> dict[str, Any]:
    return {
        "model_display_name": spec.display_name,
        "description": spec.description or "",
        "labels": dict(sorted(spec.labels.items())),
    }


def digest(value: Any, length: int = FINGERPRINT_LENGTH) -> str:
    """sha256 of canonical JSON: stable across runs, machines and key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def metadata_digest(display_name: str, labels: Mapping[str, str]) -> str:
    """What the tuning pipeline itself copies to the Model; description it cannot set."""
    return digest({"model_display_name": display_name, "labels": dict(labels)})


def fingerprint(inputs: Mapping[str, Any]) -> str:
    return digest(canonical_inputs(inputs))
