"""PURE: what every kind tuned through Vertex AI's TuningJob API (GenAiTuningService) shares.

Names of the API's own, the same in aiplatform_v1 and aiplatform_v1beta1, so that two kinds
of TuningJob spell them once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core import labels as managed
from reconciler.core.desired import DesiredJob
from reconciler.core.estimate import Estimate
from reconciler.kinds.base import DatasetField, model_metadata

# The AdapterSize enum's numbers are not the sizes (SupervisedHyperParameters.AdapterSize,
# google/cloud/aiplatform/v1/tuning_job.proto: ONE=1, FOUR=2, EIGHT=3, SIXTEEN=4,
# THIRTY_TWO=5, TWO=6): requests name the member, never the number.
ADAPTER_SIZES: dict[int, str] = {1: "ADAPTER_SIZE_ONE", 2: "ADAPTER_SIZE_TWO",
                                 4: "ADAPTER_SIZE_FOUR", 8: "ADAPTER_SIZE_EIGHT",
                                 16: "ADAPTER_SIZE_SIXTEEN", 32: "ADAPTER_SIZE_THIRTY_TWO"}
SIZE_OF_ADAPTER = {name: size for size, name in ADAPTER_SIZES.items()}


def supervised_datasets(training: str, validation: str | None) -> list[DatasetField]:
    """A SupervisedTuningSpec's datasets, training first."""
    fields = [DatasetField("training_dataset_uri", "training", training)]
    if validation is not None:
        fields.append(DatasetField("validation_dataset_uri", "evaluation", validation))
    return fields


def observed_metadata(display_name: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """A TuningJob's Model metadata as it reads back: its display name and the labels
    tuneops does not own (a TuningJob has no Model description to read)."""
    return model_metadata(display_name, "", managed.user_labels(dict(labels)))


def token_estimate(job: DesiredJob, epochs: int | None, price: float | None, no_price: str
                   ) -> Estimate:
    """A run billed by training tokens (the training dataset's, once an epoch), at `price`
    dollars a million; what is not known before the run is said (`no_price`: why no price)."""
    training = job.dataset("training")
    per_epoch = training.tokens if training is not None else None
    unknown = [reason for missing, reason in (
        (epochs is None, "epochs are the service's default"),
        (per_epoch is None, "a gs:// dataset's tokens are counted by the service only"),
        (price is None, no_price),
    ) if missing]
    tokens = per_epoch * epochs if per_epoch is not None and epochs is not None else None
    # A price of 0 (set under prices:) is a price; only a missing one is unknown.
    dollars = (round(tokens / 1e6 * price, 2)
               if tokens is not None and price is not None else None)
    return Estimate(epochs=epochs, training_tokens=tokens, dollars=dollars,
                    unknown="; ".join(unknown))
