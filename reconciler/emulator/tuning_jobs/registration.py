"""What a Gemini tuning job leaves behind: a Model version 1, each checkpoint on an Endpoint.

Pure but for `register_job` and `leave_partial`, which store them. TuningJob.tuned_model
(tuning_job.proto, TunedModel): `model` is `projects/{project}/locations/{location}/models/
{model}@{version_id}` ("When tuning from a base model, the version ID will be 1"), `endpoint`
the Endpoint serving it, `checkpoints` each checkpoint with its own Endpoint ("only populated
for tuning jobs that enable intermediate checkpoints"). Intermediate checkpoints are the
default (SupervisedTuningSpec.export_last_checkpoint_only: "Default is false"): "Intermediate
checkpoints are deployed to new endpoints sequentially as tuning progresses. The tuned model
endpoint represents the endpoint of the default checkpoint" (Vertex AI docs, tuning
checkpoints). Google's sample (python-docs-samples genai/tuning/
tuning_with_checkpoints_create.py, _get_model.py) shows one checkpoint per epoch, ids "1",
"2", ..., steps 10, 20, ..., the last one the default, its endpoint the tuned model's. All of
it lives in the tuning job's own project and location.
"""

from __future__ import annotations

import math
import sqlite3

from google.cloud.aiplatform_v1.types.endpoint import Endpoint
from google.cloud.aiplatform_v1.types.model import Checkpoint, Model, ModelSourceInfo
from google.cloud.aiplatform_v1.types.tuning_job import TunedModel, TunedModelCheckpoint, TuningJob

from reconciler.emulator.models.registration import (
    BASE_MODEL_LABEL,
    TUNE_TYPE_LABEL,
    model_version,
    register,
    run_labels,
)
from reconciler.emulator.models.rows import Ids
from reconciler.emulator.models.store import TUNED_GEMINI
from reconciler.emulator.names import split
from reconciler.emulator.prediction import remember
from reconciler.emulator.quirks import Quirks
from reconciler.emulator.tables import stored_quirks
from reconciler.emulator.tuning_jobs.validation import base_model_id

# Tuned Gemini models show `tune-type: sft` in the console (observed, not documented).
TUNE_TYPE = "sft"
# The epochs a job runs when its request sets none: the service's default is undocumented.
DEFAULT_EPOCHS = 3
# Steps per epoch, as in Google's sample output (step 10, 20 for epochs 1, 2).
STEPS_PER_EPOCH = 10


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


def intermediate(job: TuningJob) -> bool:
    return not job.supervised_tuning_spec.export_last_checkpoint_only


def checkpoints_reached(job: TuningJob, progress: float) -> tuple[str, ...]:
    """The checkpoints a run that got `progress` (0..1) through its course exported: one per
    epoch it completed, or with export_last_checkpoint_only only the last, at the end."""
    epochs = job.supervised_tuning_spec.hyper_parameters.epoch_count or DEFAULT_EPOCHS
    done = math.floor(epochs * progress + 1e-9)
    if not intermediate(job):
        return ("",) if done >= epochs else ()
    return tuple(str(epoch) for epoch in range(1, done + 1))


def tuned_model(job: TuningJob, model_id: str, ids: Ids, quirks: Quirks) -> Model:
    """The Model the job registers: the job's labels (unless the quirk is off) plus its own,
    and its checkpoints, the last one the default."""
    reached = [d.checkpoint for d in ids.deployments if d.checkpoint]
    return model_version(
        job, split(job.name).parent, ids, display_name=display_name(job, model_id),
        labels={**run_labels(job, quirks), **system_labels(model_id)},
        checkpoints=[Checkpoint(checkpoint_id=c, epoch=int(c), step=int(c) * STEPS_PER_EPOCH)
                     for c in reached],
        default_checkpoint_id=reached[-1] if reached else "",
        model_source_info=ModelSourceInfo(source_type=TUNED_GEMINI))


def tuned_model_ref(model: Model, endpoints: list[Endpoint]) -> TunedModel:
    """TuningJob.tuned_model for `model`: its versioned name, the Endpoint of the default
    checkpoint, and each checkpoint's Endpoint."""
    by_checkpoint = {e.deployed_models[0].checkpoint_id: e.name for e in endpoints}
    return TunedModel(
        model=f"{model.name}@{model.version_id}", endpoint=endpoints[-1].name,
        checkpoints=[TunedModelCheckpoint(checkpoint_id=c.checkpoint_id, epoch=c.epoch,
                                          step=c.step, endpoint=by_checkpoint[c.checkpoint_id])
                     for c in model.checkpoints])


def _store(conn: sqlite3.Connection, job: TuningJob, at: float,
           checkpoints: tuple[str, ...]) -> None:
    model_id = base_model_id(job.base_model)
    model, endpoints = register(
        conn, job, at, lambda ids, quirks: tuned_model(job, model_id, ids, quirks), checkpoints)
    job.tuned_model = tuned_model_ref(model, endpoints)
    # GenerateContent on its Endpoints answers from what it was tuned on.
    remember(conn, model.name, job.supervised_tuning_spec.training_dataset_uri)


def register_job(conn: sqlite3.Connection, job: TuningJob, at: float) -> None:
    """Stores the Model and Endpoints a succeeded job leaves; points `job.tuned_model` at
    them."""
    _store(conn, job, at, checkpoints_reached(job, 1.0))


def leave_partial(conn: sqlite3.Connection, job: TuningJob, at: float, progress: float
                  ) -> None:
    """What a failed or cancelled run leaves: with quirks.cancelled_runs_leave_model, the
    Model of the checkpoints it reached and their Endpoints (undocumented); else nothing."""
    reached = checkpoints_reached(job, progress)
    if reached and stored_quirks(conn).cancelled_runs_leave_model:
        _store(conn, job, at, reached)
