"""Facts of the Vertex AI reference (vertex-tune-code-models.txt) that code depends on."""

from __future__ import annotations

_PIPELINES = "https://us-kfp.pkg.dev/ml-pipeline/large-language-model-pipelines"
TEMPLATE_URIS: dict[str, str] = {
    "code-generation": f"{_PIPELINES}/tune-large-model/v3.0.0",
    "code-chat": f"{_PIPELINES}/tune-large-chat-model/v3.0.0",
}
# Tuned models are always uploaded here, wherever tuning ran.
MODEL_REGION = "us-central1"
BATCH_SIZE: dict[str, int] = {"us-central1": 8, "europe-west4": 24}
RECOMMENDED_TRAIN_STEPS = (200, 1000)
TUNING_LOCATIONS = tuple(BATCH_SIZE)
