"""What a succeeded open-model tuning job leaves behind: a Model version 1 deployed to an
Endpoint, its artifacts under the job's output_uri.

Pure but for `register_job`, which stores them. Documented: the tuned model's artifacts are
written to `{output_uri}/postprocess/node-0/checkpoints/final` (GoogleCloudPlatform/
vertex-ai-samples, skills/vertex-tuning/open-model/references/tuning_guide.md) and the job
names its Model in TunedModel.model (the vertexai SDK: `aiplatform.Model(sft_tuning_job.
tuned_model_name)`, vertexai/tuning/_tuning.py). ASSUMPTION (undocumented): that the
service also deploys it to an Endpoint of its own, as it does a tuned Gemini model (Google's
open-model notebooks deploy the artifacts themselves, to an endpoint answering Predict);
prune and the rest of the product must not care either way, and evaluation asks whichever
endpoint serves the Model.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

from google.cloud.aiplatform_v1.types.model import Model
from google.cloud.aiplatform_v1beta1.types.tuning_job import TunedModel, TuningJob

from reconciler.emulator.models.registration import (
    BASE_MODEL_LABEL,
    model_version,
    register,
    run_labels,
)
from reconciler.emulator.models.rows import Ids
from reconciler.emulator.names import split
from reconciler.emulator.prediction import PREDICT, remember
from reconciler.emulator.quirks import Quirks

ARTIFACTS = "postprocess/node-0/checkpoints/final"


@dataclass(frozen=True)
class _Registering:
    """What the Model Registry's rules read of a job, in its (v1) terms."""

    end_time: Any
    labels: dict[str, str]
    encryption_spec: dict[str, str] = field(default_factory=dict)


def label_value(base_model: str) -> str:
    """ASSUMPTION: a base model id as a label value ('/', '@' and '.' are not allowed), as the
    Gemini emulator writes its base-model label."""
    return base_model.replace("/", "-").replace("@", "-").replace(".", "-")


def display_name(job: TuningJob) -> str:
    """tuned_model_display_name, or when empty a default (undocumented; the emulator's)."""
    return job.tuned_model_display_name or (
        f"{label_value(job.base_model)}-tuned-{split(job.name).id}")


def tuned_model(job: TuningJob, registering: _Registering, ids: Ids, quirks: Quirks) -> Model:
    return model_version(
        registering, split(job.name).parent, ids, display_name=display_name(job),
        labels={**run_labels(registering, quirks), BASE_MODEL_LABEL: label_value(job.base_model)},
        artifact_uri=f"{job.output_uri.rstrip('/')}/{ARTIFACTS}")


def register_job(conn: sqlite3.Connection, job: TuningJob, at: float) -> None:
    """Stores the Model and Endpoint a succeeded job leaves; points `job.tuned_model` at them."""
    kms_key = job.encryption_spec.kms_key_name
    registering = _Registering(job.end_time, dict(job.labels),
                               {"kms_key_name": kms_key} if kms_key else {})
    # One endpoint: open-model runs export no intermediate checkpoints (undocumented).
    model, endpoints = register(conn, registering, at,
                                lambda ids, quirks: tuned_model(job, registering, ids, quirks))
    job.tuned_model = TunedModel(model=f"{model.name}@{model.version_id}",
                                 endpoint=endpoints[-1].name)
    # Its Endpoint answers Predict, as the serving container Model Garden deploys a tuned
    # open model with does, from what it was tuned on.
    remember(conn, model.name, job.supervised_tuning_spec.training_dataset_uri, PREDICT)
