"""CreatePipelineJob validation: the request shape the real service rejects up front.

Pure checks only (no I/O). The dataset objects named by the request are checked by the run
(see pipelines/examples.py), so their problems make a FAILED job, not a create error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from google.cloud.aiplatform_v1.types.pipeline_job import PipelineJob

from reconciler.emulator.errors import invalid
from reconciler.emulator.labelrules import validate_labels
from reconciler.emulator.pipelines.registration import MODEL_LOCATION

_TEMPLATE_BASE = "https://us-kfp.pkg.dev/ml-pipeline/large-language-model-pipelines"
CODE_TEMPLATE = f"{_TEMPLATE_BASE}/tune-large-model/v3.0.0"
CHAT_TEMPLATE = f"{_TEMPLATE_BASE}/tune-large-chat-model/v3.0.0"
# The base model each template tunes.
TEMPLATES = {CODE_TEMPLATE: "code-bison@001", CHAT_TEMPLATE: "codechat-bison@001"}

ALLOWED_PARAMETERS = frozenset(
    {
        "project",
        "location",
        "large_model_reference",
        "model_display_name",
        "dataset_uri",
        "evaluation_data_uri",
        "evaluation_interval",
        "enable_early_stopping",
        "tensorboard_resource_id",
        "train_steps",
        "learning_rate_multiplier",
        "encryption_spec_key_name",
    }
)
REQUIRED_PARAMETERS = (
    "project",
    "location",
    "large_model_reference",
    "model_display_name",
    "dataset_uri",
)

# v1 REST reference, projects.locations.pipelineJobs.create, pipelineJobId: "must be unique
# within the project ... match the regular expression [a-z][-a-z0-9]{0,127}".
_JOB_ID = re.compile(r"[a-z][-a-z0-9]{0,127}")
_GCS_URI = re.compile(r"gs://[^/\s]+(/\S*)?")
_GCS_OBJECT = re.compile(r"gs://[^/\s]+/\S+")
MAX_DISPLAY_NAME = 128


def validate_create(parent_location: str, job: PipelineJob, job_id: str) -> list[tuple[str, str]]:
    """Raises INVALID_ARGUMENT naming the first problem.

    Returns the gs:// objects that must exist, as (what, uri) pairs for the error message.
    """
    if not job_id:
        raise invalid("pipeline_job_id is required")
    if not _JOB_ID.fullmatch(job_id):
        raise invalid(f"pipeline_job_id {job_id!r} must match [a-z][-a-z0-9]{{0,127}}")
    if len(job.display_name) > MAX_DISPLAY_NAME:
        raise invalid(f"pipeline_job.display_name is longer than {MAX_DISPLAY_NAME} characters")
    validate_labels(job.labels, "pipeline_job.labels")
    if job.template_uri not in TEMPLATES:
        raise invalid(
            f"unsupported pipeline_job.template_uri {job.template_uri!r}; expected one of "
            + ", ".join(TEMPLATES)
        )
    output = job.runtime_config.gcs_output_directory
    if not _GCS_URI.fullmatch(output):
        raise invalid(
            f"pipeline_job.runtime_config.gcs_output_directory {output!r} is not a gs:// URI"
        )
    params: Mapping[str, Any] = dict(job.runtime_config.parameter_values)
    _validate_parameters(parent_location, job, params)
    inputs = {"dataset_uri": "dataset", "evaluation_data_uri": "evaluation dataset"}
    return [(what, params[p]) for p, what in inputs.items() if p in params]


def _validate_parameters(parent_location: str, job: PipelineJob, params: Mapping[str, Any]) -> None:
    where = "pipeline_job.runtime_config.parameter_values"
    unknown = sorted(set(params) - ALLOWED_PARAMETERS)
    if unknown:
        raise invalid(f"{where}: unknown parameter(s) {', '.join(unknown)}")
    missing = [p for p in REQUIRED_PARAMETERS if p not in params]
    if missing:
        raise invalid(f"{where}: missing required parameter(s) {', '.join(missing)}")
    for name in (
        "project",
        "model_display_name",
        "tensorboard_resource_id",
        "encryption_spec_key_name",
    ):
        if name in params and not (isinstance(params[name], str) and params[name]):
            raise invalid(f"{where}: {name} must be a non-empty string")
    if params["location"] != MODEL_LOCATION:
        raise invalid(f"{where}: location must be {MODEL_LOCATION!r}, got {params['location']!r}")
    base_model = TEMPLATES[job.template_uri]
    if params["large_model_reference"] != base_model:
        raise invalid(
            f"{where}: large_model_reference must be {base_model!r} for template "
            f"{job.template_uri}, got {params['large_model_reference']!r}"
        )
    for name in ("dataset_uri", "evaluation_data_uri"):
        if name in params and not (
            isinstance(params[name], str) and _GCS_OBJECT.fullmatch(params[name])
        ):
            raise invalid(f"{where}: {name} {params[name]!r} is not a gs://BUCKET/OBJECT URI")
    for name in ("train_steps", "evaluation_interval"):
        if name in params and not _is_positive_integer(params[name]):
            raise invalid(f"{where}: {name} must be a positive integer, got {params[name]!r}")
    rate = params.get("learning_rate_multiplier", 1.0)
    if not _is_number(rate) or rate <= 0:
        raise invalid(f"{where}: learning_rate_multiplier must be > 0, got {rate!r}")
    if not isinstance(params.get("enable_early_stopping", False), bool):
        raise invalid(f"{where}: enable_early_stopping must be a boolean")
    _validate_template_specific(parent_location, job, params, where)


def _validate_template_specific(
    parent_location: str, job: PipelineJob, params: Mapping[str, Any], where: str
) -> None:
    is_code = job.template_uri == CODE_TEMPLATE
    evaluation = sorted(p for p in params if p.startswith("evaluation_"))
    if evaluation and not is_code:
        raise invalid(f"{where}: {', '.join(evaluation)} only apply to the code-bison template")
    if evaluation and "evaluation_data_uri" not in params:
        raise invalid(f"{where}: {', '.join(evaluation)} require evaluation_data_uri")
    if "tensorboard_resource_id" in params and not is_code:
        raise invalid(f"{where}: tensorboard_resource_id only applies to the code-bison template")
    key = params.get("encryption_spec_key_name")
    if key is not None:
        if parent_location != MODEL_LOCATION:
            raise invalid(
                f"{where}: encryption_spec_key_name (CMEK) is only supported in "
                f"{MODEL_LOCATION}, not {parent_location}"
            )
        if job.encryption_spec.kms_key_name != key:
            raise invalid(
                "pipeline_job.encryption_spec.kms_key_name must equal the "
                f"encryption_spec_key_name parameter {key!r}"
            )


def _is_number(value: Any) -> bool:
    # bool is an int subclass but a protobuf bool_value, never a number_value.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_positive_integer(value: Any) -> bool:
    # Struct numbers arrive as floats (300 -> 300.0), so compare by value.
    return _is_number(value) and value > 0 and float(value).is_integer()
