"""What any succeeded tuning run leaves behind: a Model version 1, deployed to a new Endpoint.

The store assigns ids and persists; each service builds its Model (its display name, its
labels) and records on its job where the Model went. The shared rules come from the
tuning pipelines' components (kubeflow/pipelines google_cloud_pipeline_components/
_implementation/llm/ upload_llm_model.py, deploy_llm_model.py, deployment_graph.py,
deploy_model=True) and TuningJob.tuned_model (tuning_job.proto): both register one Model
version and deploy it to an Endpoint of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from google.cloud.aiplatform_v1.types.deployed_model_ref import DeployedModelRef
from google.cloud.aiplatform_v1.types.endpoint import DeployedModel, Endpoint
from google.cloud.aiplatform_v1.types.model import Model

from reconciler.emulator.models.rows import (
    ENDPOINTS,
    MODELS,
    Deployment,
    Ids,
    registration_ids,
    save_endpoint,
    save_model,
)
from reconciler.emulator.names import split
from reconciler.emulator.quirks import Quirks
from reconciler.emulator.tables import stored_quirks

# upload_llm_model.py: labels['google-vertex-llm-tuning-base-model-id'] =
# model_reference_name.replace('@', '-'); the SDK reads it back (_TUNING_BASE_MODEL_ID_LABEL_KEY).
BASE_MODEL_LABEL = "google-vertex-llm-tuning-base-model-id"
# upload_llm_model.py sets `tune-type` from its tune_type argument; each service says its value.
TUNE_TYPE_LABEL = "tune-type"
# "When tuning from a base model, the version ID will be 1" (tuning_job.proto, TunedModel).
VERSION = "1"
# A job message of any service (proto-plus), with labels and an encryption_spec.
Job = Any
# The Model a service registers for its job, given the ids handed out for it.
ModelOf = Callable[[Ids, Quirks], Model]


def run_labels(job: Job, quirks: Quirks) -> dict[str, str]:
    # The pipeline's steps read VERTEX_AI_PIPELINES_RUN_LABELS, which holds the job's labels;
    # a TuningJob's are documented to reach its Model. The quirk turns both off.
    return dict(job.labels) if quirks.model_labels else {}


def model_version(job: Job, parent: str, ids: Ids, *, display_name: str,
                  labels: Mapping[str, str], **fields: Any) -> Model:
    """Version 1 of a tuned Model in `parent`, deployed to the Endpoints `ids` names, as of
    the job's end."""
    registered = job.end_time
    return Model(
        name=MODELS.name(parent, ids.model),
        display_name=display_name,
        description="",
        labels=dict(labels),
        version_id=VERSION,
        version_aliases=["default"],
        create_time=registered,
        update_time=registered,
        version_create_time=registered,
        version_update_time=registered,
        encryption_spec=job.encryption_spec,
        deployed_models=[DeployedModelRef(endpoint=ENDPOINTS.name(parent, deployment.endpoint),
                                          deployed_model_id=deployment.deployed_model)
                         for deployment in ids.deployments],
        **fields,
    )


def endpoint_for(job: Job, model: Model, deployment: Deployment, quirks: Quirks) -> Endpoint:
    """An Endpoint the deploy step creates: the Model's display name, the run's labels."""
    deployed = DeployedModel(
        id=deployment.deployed_model,
        model=model.name,
        model_version_id=model.version_id,
        display_name=model.display_name,
        create_time=model.create_time,
        # deploy_llm_model.py: 'automaticResources': {'minReplicaCount': 1, 'maxReplicaCount': 1}
        automatic_resources={"min_replica_count": 1, "max_replica_count": 1},
        checkpoint_id=deployment.checkpoint,
    )
    return Endpoint(
        name=ENDPOINTS.name(split(model.name).parent, deployment.endpoint),
        display_name=model.display_name,
        labels=run_labels(job, quirks),
        deployed_models=[deployed],
        traffic_split={deployment.deployed_model: 100},
        create_time=model.create_time,
        update_time=model.create_time,
        encryption_spec=job.encryption_spec,
    )


def register(conn: sqlite3.Connection, job: Job, at: float, model_of: ModelOf,
             checkpoints: Sequence[str] = ("",)) -> tuple[Model, list[Endpoint]]:
    """Stores the Model a job leaves and the Endpoints serving it (one per checkpoint), as
    of `at`."""
    quirks = stored_quirks(conn)
    ids = registration_ids(conn, checkpoints)
    model = model_of(ids, quirks)
    endpoints = [endpoint_for(job, model, deployment, quirks) for deployment in ids.deployments]
    save_model(conn, model, create_time=at)
    for endpoint in endpoints:
        save_endpoint(conn, endpoint, create_time=at)
    return model, endpoints
