"""What a succeeded tuning pipeline run leaves: its Model, its Endpoint, its task details.

Pure but for `register`, which stores them. The rules copied here come from the pipeline
components in kubeflow/pipelines google_cloud_pipeline_components/_implementation/llm/
(upload_llm_model.py, deploy_llm_model.py, deployment_graph.py) and from how the SDK reads a
run back (googleapis/python-aiplatform vertexai/language_models/_language_models.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from google.cloud.aiplatform_v1.types.endpoint import Endpoint
from google.cloud.aiplatform_v1.types.execution import Execution
from google.cloud.aiplatform_v1.types.model import Model
from google.cloud.aiplatform_v1.types.pipeline_job import (
    PipelineJob,
    PipelineJobDetail,
    PipelineTaskDetail,
)

from reconciler.emulator.models.registration import (
    BASE_MODEL_LABEL,
    TUNE_TYPE_LABEL,
    model_version,
    register,
    run_labels,
)
from reconciler.emulator.models.rows import Ids
from reconciler.emulator.names import parent, split
from reconciler.emulator.quirks import Quirks

# Reserved PipelineJob label the service sets itself, overriding a user's value
# (googleapis google/cloud/aiplatform/v1/pipeline_job.proto, PipelineJob.labels).
BILLING_ID_LABEL = "vertex-ai-pipelines-run-billing-id"
# upload_llm_model.py sets `tune-type` from its tune_type argument (the RLHF graph passes
# 'rlhf'); the supervised templates are compiled elsewhere, so this value is our assumption.
TUNE_TYPE = "supervised"
# Tuned pipeline models always register here: the `location` parameter must be us-central1.
MODEL_LOCATION = "us-central1"
# The SDK finds the Model through the task named upload-llm-model (older: upload-model) and
# its execution metadata "output:model_resource_name" (_LanguageModelTuningJob.get_tuned_model).
UPLOAD_TASK = "upload-llm-model"
DEPLOY_TASK = "create-endpoint-and-deploy-model"
MODEL_OUTPUT = "output:model_resource_name"
ENDPOINT_OUTPUT = "output:endpoint_resource_name"


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
    return model_version(job, parent(params["project"], MODEL_LOCATION), ids,
                         display_name=params["model_display_name"],
                         labels={**run_labels(job, quirks), **system_labels(job)},
                         pipeline_job=job.name)


def job_detail(job: PipelineJob, model: Model, endpoint: Endpoint) -> PipelineJobDetail:
    """Task details of the finished run, as GetPipelineJob returns them."""
    name = split(job.name)
    executions = f"{name.parent}/metadataStores/default/executions"
    billing = job.labels[BILLING_ID_LABEL]
    outputs = (
        # upload_llm_model.py writes the Model name with '@{model_version_id}' appended.
        (UPLOAD_TASK, {MODEL_OUTPUT: f"{model.name}@{model.version_id}"}),
        (DEPLOY_TASK, {ENDPOINT_OUTPUT: endpoint.name}),
    )
    return PipelineJobDetail(
        task_details=[
            _task(number, task, f"{executions}/{billing}{number:02d}", metadata, job)
            for number, (task, metadata) in enumerate(outputs, start=1)
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


def register_run(conn: sqlite3.Connection, job: PipelineJob, at: float) -> None:
    """Stores the Model and Endpoint a succeeded run leaves, and its task details on `job`."""
    model, (endpoint,) = register(conn, job, at,
                                  lambda ids, quirks: tuned_model(job, ids, quirks))
    job.job_detail = job_detail(job, model, endpoint)
