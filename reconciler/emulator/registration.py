"""What a succeeded tuning run leaves behind: a Model, an Endpoint serving it, task details.

Pure: the store assigns ids and persists. The rules copied here come from the pipeline
components in kubeflow/pipelines google_cloud_pipeline_components/_implementation/llm/
(upload_llm_model.py, deploy_llm_model.py, deployment_graph.py) and from how the SDK reads a
run back (googleapis/python-aiplatform vertexai/language_models/_language_models.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from google.cloud.aiplatform_v1.types import (
    DeployedModel,
    DeployedModelRef,
    Endpoint,
    Execution,
    Model,
    PipelineJob,
    PipelineJobDetail,
    PipelineTaskDetail,
    TuningJob,
)

from reconciler.emulator.names import model_parent
from reconciler.emulator.quirks import Quirks

# Reserved PipelineJob label the service sets itself, overriding a user's value
# (googleapis google/cloud/aiplatform/v1/pipeline_job.proto, PipelineJob.labels).
BILLING_ID_LABEL = "vertex-ai-pipelines-run-billing-id"
# upload_llm_model.py: labels['google-vertex-llm-tuning-base-model-id'] =
# model_reference_name.replace('@', '-'); the SDK reads it back (_TUNING_BASE_MODEL_ID_LABEL_KEY).
BASE_MODEL_LABEL = "google-vertex-llm-tuning-base-model-id"
# upload_llm_model.py sets `tune-type` from its tune_type argument (the RLHF graph passes
# 'rlhf'); the supervised templates are compiled elsewhere, so this value is our assumption.
TUNE_TYPE_LABEL = "tune-type"
TUNE_TYPE = "supervised"
# The SDK finds the Model through the task named upload-llm-model (older: upload-model) and
# its execution metadata "output:model_resource_name" (_LanguageModelTuningJob.get_tuned_model).
UPLOAD_TASK = "upload-llm-model"
DEPLOY_TASK = "create-endpoint-and-deploy-model"
MODEL_OUTPUT = "output:model_resource_name"
ENDPOINT_OUTPUT = "output:endpoint_resource_name"


@dataclass(frozen=True)
class Ids:
    """Numeric ids the store hands out for one registration."""

    model: str
    endpoint: str
    deployed_model: str


def system_labels(job: PipelineJob) -> dict[str, str]:
    """Labels every tuned Model carries, whatever the pipeline version does with run labels."""
    reference = str(job.runtime_config.parameter_values["large_model_reference"])
    return {
        BILLING_ID_LABEL: job.labels[BILLING_ID_LABEL],
        BASE_MODEL_LABEL: reference.replace("@", "-"),
        TUNE_TYPE_LABEL: TUNE_TYPE,
    }


def tuned_model(job: PipelineJob, ids: Ids, quirks: Quirks) -> Model:
    """The Model the upload step registers (in the project the job's parameters name)."""
    params = job.runtime_config.parameter_values
    registered = job.end_time
    parent = model_parent(params["project"])
    endpoint = f"{parent}/endpoints/{ids.endpoint}"
    return Model(
        name=f"{parent}/models/{ids.model}",
        display_name=params["model_display_name"],
        description="",
        labels={**run_labels(job, quirks), **system_labels(job)},
        version_id="1",
        version_aliases=["default"],
        create_time=registered,
        update_time=registered,
        version_create_time=registered,
        version_update_time=registered,
        pipeline_job=job.name,
        encryption_spec=job.encryption_spec,
        deployed_models=[DeployedModelRef(endpoint=endpoint, deployed_model_id=ids.deployed_model)],
    )


def endpoint_for(
    job: PipelineJob | TuningJob, model: Model, ids: Ids, quirks: Quirks
) -> Endpoint:
    """The Endpoint the deploy step creates: the Model's display name, the run's labels.

    A Gemini tuning job deploys the same way (tuned_model.endpoint), with its own labels.
    """
    deployed = DeployedModel(
        id=ids.deployed_model,
        model=model.name,
        model_version_id=model.version_id,
        display_name=model.display_name,
        create_time=model.create_time,
        # deploy_llm_model.py: 'automaticResources': {'minReplicaCount': 1, 'maxReplicaCount': 1}
        automatic_resources={"min_replica_count": 1, "max_replica_count": 1},
    )
    return Endpoint(
        name=model.deployed_models[0].endpoint,
        display_name=model.display_name,
        labels=run_labels(job, quirks),
        deployed_models=[deployed],
        traffic_split={ids.deployed_model: 100},
        create_time=model.create_time,
        update_time=model.create_time,
        encryption_spec=job.encryption_spec,
    )


def job_detail(job: PipelineJob, model: Model, endpoint: Endpoint) -> PipelineJobDetail:
    """Task details of the finished run, as GetPipelineJob returns them."""
    project, location = job.name.split("/")[1], job.name.split("/")[3]
    executions = f"projects/{project}/locations/{location}/metadataStores/default/executions"
    billing = job.labels[BILLING_ID_LABEL]
    outputs = (
        # upload_llm_model.py writes the Model name with '@{model_version_id}' appended.
        (UPLOAD_TASK, {MODEL_OUTPUT: f"{model.name}@{model.version_id}"}),
        (DEPLOY_TASK, {ENDPOINT_OUTPUT: endpoint.name}),
    )
    return PipelineJobDetail(
        task_details=[
            _task(number, name, f"{executions}/{billing}{number:02d}", metadata, job)
            for number, (name, metadata) in enumerate(outputs, start=1)
        ]
    )


def _task(
    number: int, name: str, execution: str, metadata: Mapping[str, str], job: PipelineJob
) -> PipelineTaskDetail:
    done = job.end_time
    return PipelineTaskDetail(
        task_id=number,
        task_name=name,
        create_time=done,
        start_time=done,
        end_time=done,
        state=PipelineTaskDetail.State.SUCCEEDED,
        execution=Execution(
            name=execution,
            display_name=name,
            state=Execution.State.COMPLETE,
            schema_title="system.ContainerExecution",
            metadata=dict(metadata),
        ),
    )


def run_labels(job: PipelineJob | TuningJob, quirks: Quirks) -> dict[str, str]:
    # The steps read VERTEX_AI_PIPELINES_RUN_LABELS, which holds the job's labels.
    return dict(job.labels) if quirks.model_labels else {}
