"""CreateTuningJob validation for open models: the request shape the real service rejects.

Pure checks only (no I/O). Field rules are quoted from the installed proto-plus types,
google/cloud/aiplatform_v1beta1/types/tuning_job.py (googleapis/googleapis
google/cloud/aiplatform/v1beta1/tuning_job.proto), the models and their tuning modes from
"Tune an open model" (cloud.google.com/vertex-ai/generative-ai/docs/models/open-model-tuning,
"Supported models" and "Limitations"). The dataset objects are read by the run (see
open_models/examples.py), so their problems make a FAILED job, not a create error.
"""

from __future__ import annotations

import math
import re

from google.cloud.aiplatform_v1beta1.types.tuning_job import (
    SupervisedHyperParameters,
    SupervisedTuningSpec,
    TuningJob,
)

from reconciler.emulator.errors import invalid
from reconciler.emulator.labelrules import validate_labels

AdapterSize = SupervisedHyperParameters.AdapterSize
TuningMode = SupervisedTuningSpec.TuningMode
FULL, PEFT = TuningMode.TUNING_MODE_FULL, TuningMode.TUNING_MODE_PEFT_ADAPTER
# The supported models and the modes of the Limitations table.
MODES: dict[str, tuple[int, ...]] = {
    "google/gemma3@gemma-3-1b-it": (FULL,),
    "google/gemma3@gemma-3-4b-it": (FULL,),
    "google/gemma3@gemma-3-12b-it": (FULL,),
    "google/gemma3@gemma-3-27b-it": (PEFT, FULL),
    "google/gemma-3-27b-it": (PEFT, FULL),
    "meta/llama3_1@llama-3.1-8b": (PEFT, FULL),
    "meta/llama3_1@llama-3.1-8b-instruct": (PEFT, FULL),
    "meta/llama3-2@llama-3.2-1b-instruct": (FULL,),
    "meta/llama3-2@llama-3.2-3b-instruct": (FULL,),
    "meta/llama3-3@llama-3.3-70b-instruct": (PEFT, FULL),
    "meta/llama4@llama-4-scout-17b-16e-instruct": (PEFT,),
    "qwen/qwen3@qwen3-4b": (FULL,),
    "qwen/qwen3@qwen3-8b": (FULL,),
    "qwen/qwen3@qwen3-14b": (FULL,),
    "qwen/qwen3@qwen3-32b": (PEFT, FULL),
}
_GCS_OBJECT = re.compile(r"gs://[^/\s]+/\S+")
_GCS_PATH = re.compile(r"gs://[^/\s]+(/\S*)?")
# TuningJob.tuned_model_display_name: "The name can be up to 128 characters long".
MAX_DISPLAY_NAME = 128
WHERE = "tuning_job.supervised_tuning_spec"


def validate_open_model_job(job: TuningJob) -> list[tuple[str, str]]:
    """Raises INVALID_ARGUMENT naming the first problem.

    Returns the gs:// objects the run reads, as (what, uri) pairs for its error message.
    """
    message = TuningJob.pb(job)
    if message.HasField("pre_tuned_model"):
        raise invalid("tuning_job.pre_tuned_model: continuous tuning is not emulated")
    if not message.HasField("supervised_tuning_spec"):
        raise invalid("tuning_job.supervised_tuning_spec is required (other tuning specs "
                      "are not emulated)")
    if job.base_model not in MODES:
        raise invalid(f"tuning_job.base_model {job.base_model!r} is not a tunable open model "
                      f"(e.g. meta/llama3_1@llama-3.1-8b-instruct); this emulator tunes Gemini "
                      "through the v1 GenAiTuningService")
    # TuningJob.output_uri: "This field is only available and required for open source
    # models"; custom_base_model: "The path must be a Cloud Storage directory".
    if not _GCS_PATH.fullmatch(job.output_uri):
        raise invalid(f"tuning_job.output_uri {job.output_uri!r} is required for open models: "
                      "a gs://BUCKET/PATH directory")
    if job.custom_base_model and not _GCS_PATH.fullmatch(job.custom_base_model):
        raise invalid(f"tuning_job.custom_base_model {job.custom_base_model!r} is not a "
                      "gs://BUCKET/PATH directory")
    if len(job.tuned_model_display_name) > MAX_DISPLAY_NAME:
        raise invalid(
            f"tuning_job.tuned_model_display_name is longer than {MAX_DISPLAY_NAME} characters")
    validate_labels(job.labels, "tuning_job.labels")
    spec = job.supervised_tuning_spec
    if spec.evaluation_config:
        raise invalid(f"{WHERE}.evaluation_config is not emulated")
    _validate_mode(spec.tuning_mode, job.base_model)
    if not spec.training_dataset_uri:
        raise invalid(f"{WHERE}.training_dataset_uri is required")
    objects = []
    for field, uri in (("training", spec.training_dataset_uri),
                       ("validation", spec.validation_dataset_uri)):
        if not uri:
            continue
        if not _GCS_OBJECT.fullmatch(uri):
            raise invalid(f"{WHERE}.{field}_dataset_uri {uri!r} is not a gs://BUCKET/OBJECT URI")
        objects.append((f"{field} dataset", uri))
    _validate_hyper_parameters(spec.hyper_parameters, f"{WHERE}.hyper_parameters")
    return objects


def _validate_mode(mode: int, base_model: str) -> None:
    # 0 (UNSPECIFIED) is the same as unset on the wire: the service's default mode.
    if int(mode) == 0:
        return
    if int(mode) not in {int(member) for member in TuningMode.__members__.values()}:
        raise invalid(f"{WHERE}.tuning_mode {int(mode)} is not a defined TuningMode value")
    if mode not in MODES[base_model]:
        supported = ", ".join(TuningMode(m).name for m in MODES[base_model])
        raise invalid(f"{WHERE}.tuning_mode {TuningMode(mode).name} is not supported for "
                      f"{base_model}; supported: {supported}")


def _validate_hyper_parameters(params: SupervisedHyperParameters, where: str) -> None:
    for field in ("epoch_count", "batch_size"):
        if getattr(params, field) < 0:
            raise invalid(f"{where}.{field} must not be negative, got {getattr(params, field)}")
    for field in ("learning_rate", "learning_rate_multiplier"):
        rate = getattr(params, field)
        if not math.isfinite(rate) or rate < 0:
            raise invalid(f"{where}.{field} must be a finite number >= 0, got {rate}")
    # learning_rate_multiplier: "Mutually exclusive with learning_rate"; the SDK: "Can only be
    # used with 1P models" (vertexai/tuning/_supervised_tuning.py).
    if params.learning_rate_multiplier:
        raise invalid(f"{where}.learning_rate_multiplier is for Google's own models; open "
                      "models take learning_rate")
    # proto3 enums are open: an undefined number arrives as a bare int.
    number = int(params.adapter_size)
    if number and number not in {int(size) for size in AdapterSize.__members__.values()}:
        raise invalid(f"{where}.adapter_size {number} is not a defined AdapterSize value")
