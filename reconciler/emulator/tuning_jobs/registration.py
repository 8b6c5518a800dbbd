"""What a succeeded Gemini tuning job leaves behind: a Model version 1 deployed to an Endpoint.

Pure but for `register_job`, which stores them. TuningJob.tuned_model (tuning_job.proto,
TunedModel): `model` is `projects/{project}/locations/{location}/models/{model}@{version_id}`
("When tuning from a base model, the version ID will be 1"), `endpoint` the Endpoint serving
it. Both live in the tuning job's own project and location.
"""

from __future__ import annotations

import sqlite3

from google.cloud.aiplatform_v1.types import Model, TunedModel, TuningJob

from reconciler.emulator.models.registration import (
    BASE_MODEL_LABEL,
    TUNE_TYPE_LABEL,
    model_version,
    register,
    run_labels,
)
from reconciler.emulator.models.rows import Ids
from reconciler.emulator.names import split
from reconciler.emulator.prediction import remember
from reconciler.emulator.quirks import Quirks
from reconciler.emulator.tuning_jobs.validation import base_model_id

# Tuned Gemini models show `tune-type: sft` in the console (observed, not documented).
TUNE_TYPE = "sft"


def system_labels(model_id: str) -> dict[str, str]:
    """Labels the service adds to every tuned Gemini Model.

    ASSUMPTION: the base-model label's value is the model id with '.' and '@' replaced by '-'
    (label values allow neither); the pipeline's upload step only documents '@' -> '-', and
    the real Gemini value may use another replacement.
    """
    return {
        BASE_MODEL_LABEL: model_id.replace(".", "-").replace("@", "-"),
        TUNE_TYPE_LABEL: TUNE_TYPE,
    }


def display_name(job: TuningJob, model_id: str) -> str:
    """tuned_model_display_name, or when empty a default.

    ASSUMPTION: the service's default is not documented; the emulator uses the base model id
    plus `-tuned-` and the job's numeric id, e.g. `gemini-2.5-flash-tuned-5000000000000000001`.
    """
    return job.tuned_model_display_name or f"{model_id}-tuned-{split(job.name).id}"


def tuned_model(job: TuningJob, model_id: str, ids: Ids, quirks: Quirks) -> Model:
    """The Model the job registers: the job's labels (unless the quirk is off) plus its own."""
    return model_version(job, split(job.name).parent, ids,
                         display_name=display_name(job, model_id),
                         labels={**run_labels(job, quirks), **system_labels(model_id)})


def tuned_model_ref(model: Model) -> TunedModel:
    """TuningJob.tuned_model for `model`: its versioned name and the Endpoint serving it."""
    return TunedModel(
        model=f"{model.name}@{model.version_id}", endpoint=model.deployed_models[0].endpoint
    )


def register_job(conn: sqlite3.Connection, job: TuningJob, at: float) -> None:
    """Stores the Model and Endpoint a succeeded job leaves; points `job.tuned_model` at them."""
    model_id = base_model_id(job.base_model)
    model, _ = register(conn, job, at, lambda ids, quirks: tuned_model(job, model_id, ids, quirks))
    job.tuned_model = tuned_model_ref(model)
    # GenerateContent on its Endpoint answers from what it was tuned on.
    remember(conn, model.name, job.supervised_tuning_spec.training_dataset_uri)
