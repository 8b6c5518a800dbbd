"""The labels tuneops writes on every job and Model: how it recognises its own resources."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

MANAGED_BY = "managed-by"
MANAGER = "tuneops"
NAME = "tuneops-name"
FINGERPRINT = "tuneops-fingerprint"
DATASET = "tuneops-dataset"
EVALUATION_DATASET = "tuneops-eval-dataset"
COMMIT = "tuneops-commit"
# Which attempt at its fingerprint a run is: 1, then 2, 3, ... for relaunches. With the
# name and the fingerprint it is the run's identity, found by label before any create.
ATTEMPT = "tuneops-attempt"
# Digest of the display name and labels tuneops last wrote: a Model whose live metadata no
# longer matches it was edited outside git (drift), not changed in git (update).
METADATA = "tuneops-metadata"
# The label every resource tuneops launched carries, and lists ask for.
MANAGED: Mapping[str, str] = MappingProxyType({MANAGED_BY: MANAGER})
# On the Model a channel points to (`tuneops-channel-production`), for people reading the
# Model Registry; the channel's record in the staging bucket is what decides.
CHANNEL_PREFIX = "tuneops-channel-"


def channel_label(channel: str) -> str:
    return f"{CHANNEL_PREFIX}{channel}"


# Set by the service on every pipeline run, overriding any value sent (the v1 PipelineJob
# `labels` reference: "vertex-ai-pipelines-run-billing-id ... user set value will get
# overrided"): neither tuneops' nor the user's.
SERVICE_KEYS = frozenset({"vertex-ai-pipelines-run-billing-id"})


def is_managed_key(key: str) -> bool:
    return key == MANAGED_BY or key.startswith("tuneops-")


def user_labels(labels: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in sorted(labels.items())
            if not is_managed_key(k) and k not in SERVICE_KEYS}


def managed_labels(labels: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in sorted(labels.items()) if is_managed_key(k)}
