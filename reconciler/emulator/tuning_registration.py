"""What a succeeded Gemini tuning job leaves behind: a Model version 1 deployed to an Endpoint.

Pure: the store assigns ids and persists. TuningJob.tuned_model (tuning_job.proto, TunedModel):
`model` is `projects/{project}/locations/{location}/models/{model}@{version_id}` ("When tuning
from a base model, the version ID will be 1"), `endpoint` the Endpoint serving it. Both live in
the tuning job's own project and location.
"""

from __future__ import annotations

from google.cloud.aiplatform_v1.types import DeployedModelRef, Model, TunedModel, TuningJob

from reconciler.emulator.quirks import Quirks
from reconciler.emulator.registration import BASE_MODEL_LABEL, TUNE_TYPE_LABEL, Ids, run_labels

# Tuned Gemini models show `tune-type: sft` in the console (observed, not documented).
TUNE_TYPE = "sft"
VERSION = "1"


def system_labels(model_id: str) -> dict[str, str]:
    """Labels the service adds to every tuned Gemini Model.

    ASSUMPTION: the base-model label's value is the model id with '.' and '@' replaced by '-'
    (label values allow neither); the pipeline's upload step only documents '@' -> '-'
    (registration.py), and the real Gemini value may use another replacement.
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
    return job.tuned_model_display_name or f"{model_id}-tuned-{job.name.rsplit('/', 1)[1]}"


def tuned_model(job: TuningJob, model_id: str, ids: Ids, quirks: Quirks) -> Model:
    """The Model the job registers: the job's labels (unless the quirk is off) plus its own."""
    parent = job.name.rsplit("/tuningJobs/", 1)[0]
    registered = job.end_time
    return Model(
        name=f"{parent}/models/{ids.model}",
        display_name=display_name(job, model_id),
        description="",
        labels={**run_labels(job, quirks), **system_labels(model_id)},
        version_id=VERSION,
        version_aliases=["default"],
        create_time=registered,
        update_time=registered,
        version_create_time=registered,
        version_update_time=registered,
        encryption_spec=job.encryption_spec,
        deployed_models=[
            DeployedModelRef(
                endpoint=f"{parent}/endpoints/{ids.endpoint}", deployed_model_id=ids.deployed_model
            )
        ],
    )


def tuned_model_ref(model: Model) -> TunedModel:
    """TuningJob.tuned_model for `model`: its versioned name and the Endpoint serving it."""
    return TunedModel(
        model=f"{model.name}@{model.version_id}", endpoint=model.deployed_models[0].endpoint
    )
