"""The exact pipeline job a desired job becomes, and the way back from a job to its inputs.

Pure: the request is part of the plan, so `apply PLANFILE` sends what the reviewer read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.core import labels as managed
from reconciler.core.fingerprint import canonical_inputs, metadata_digest
from reconciler.load.desired import DesiredJob
from reconciler.reference import MODEL_REGION, TEMPLATE_URIS

_TASK_OF_TEMPLATE = {uri: task for task, uri in TEMPLATE_URIS.items()}
# Pipeline parameters that are weight inputs under the same name.
_DIRECT_PARAMETERS = (
    "large_model_reference",
    "train_steps",
    "learning_rate_multiplier",
    "evaluation_interval",
    "enable_early_stopping",
    "encryption_spec_key_name",
)


@dataclass(frozen=True)
class Upload:
    source: str
    destination: str


@dataclass(frozen=True)
class LaunchSpec:
    pipeline_job_id: str
    location: str
    display_name: str
    template_uri: str
    output_directory: str
    parameters: dict[str, Any]
    labels: dict[str, str]
    kms_key_name: str | None
    uploads: tuple[Upload, ...]

    @property
    def summary(self) -> str:
        return (f"{self.pipeline_job_id} in {self.location}: "
                f"{self.parameters['large_model_reference']}, "
                f"{self.parameters['train_steps']} steps")


def pipeline_job_id(name: str, fingerprint: str, attempt: int = 1) -> str:
    """Deterministic, so a second apply racing the first gets ALREADY_EXISTS, not a twin job."""
    base = f"{name}-{fingerprint[:12]}"
    return base if attempt == 1 else f"{base}-r{attempt}"


def staged_uri(staging_bucket: str, content_hash: str) -> str:
    return f"{staging_bucket}/datasets/{content_hash}.jsonl"


def _dataset_uri(staging_bucket: str, configured: str, path: str | None, content_hash: str,
                 uploads: list[Upload]) -> str:
    if path is None:
        return configured
    destination = staged_uri(staging_bucket, content_hash)
    uploads.append(Upload(path, destination))
    return destination


def build_launch(job: DesiredJob, *, project: str, staging_bucket: str, commit: str,
                 attempt: int = 1) -> LaunchSpec:
    inputs = job.inputs
    uploads: list[Upload] = []
    parameters: dict[str, Any] = {
        "project": project,
        "location": MODEL_REGION,
        "large_model_reference": inputs["large_model_reference"],
        "model_display_name": job.metadata["model_display_name"],
        "dataset_uri": _dataset_uri(staging_bucket, job.dataset.uri, job.dataset_path,
                                    job.dataset.content_hash, uploads),
    }
    if job.evaluation is not None:
        parameters["evaluation_data_uri"] = _dataset_uri(
            staging_bucket, job.evaluation.uri, job.evaluation_path,
            job.evaluation.content_hash, uploads)
    if job.tensorboard_resource_id is not None:
        parameters["tensorboard_resource_id"] = job.tensorboard_resource_id
    parameters.update({key: inputs[key] for key in _DIRECT_PARAMETERS
                       if inputs[key] is not None})
    job_labels = {
        **job.metadata["labels"],
        managed.MANAGED_BY: managed.MANAGER,
        managed.NAME: job.name,
        managed.FINGERPRINT: job.fingerprint,
        managed.DATASET: job.dataset.content_hash,
        managed.METADATA: metadata_digest(job.metadata["model_display_name"],
                                          job.metadata["labels"]),
    }
    if job.evaluation is not None:
        job_labels[managed.EVALUATION_DATASET] = job.evaluation.content_hash
    if commit:
        job_labels[managed.COMMIT] = commit
    job_id = pipeline_job_id(job.name, job.fingerprint, attempt)
    return LaunchSpec(
        pipeline_job_id=job_id,
        location=job.tuning_location,
        display_name=job.name,
        template_uri=inputs["template_uri"],
        output_directory=f"{staging_bucket}/pipeline-root",
        parameters=parameters,
        labels=dict(sorted(job_labels.items())),
        kms_key_name=inputs["encryption_spec_key_name"],
        uploads=tuple(uploads),
    )


def observed_inputs(*, template_uri: str, location: str, parameters: Mapping[str, Any],
                    labels: Mapping[str, str]) -> dict[str, Any]:
    """The weight inputs a launched job ran with, read back from its request and labels."""
    values: dict[str, Any] = {key: parameters.get(key) for key in _DIRECT_PARAMETERS}
    values.update(
        template_uri=template_uri,
        tuning_location=location,
        dataset_hash=labels.get(managed.DATASET),
        evaluation_dataset_hash=labels.get(managed.EVALUATION_DATASET),
    )
    return canonical_inputs(values)


def observed_metadata(parameters: Mapping[str, Any], labels: Mapping[str, str],
                      description: str = "") -> dict[str, Any]:
    return {
        "model_display_name": parameters.get("model_display_name", ""),
        "description": description,
        "labels": managed.user_labels(dict(labels)),
    }


def task_of_template(template_uri: str) -> str | None:
    return _TASK_OF_TEMPLATE.get(template_uri)
