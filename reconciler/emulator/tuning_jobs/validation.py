"""CreateTuningJob validation: the request shape the real service rejects up front.

Pure checks only (no I/O). Field rules are quoted from the installed proto-plus types,
google/cloud/aiplatform_v1/types/tuning_job.py (the googleapis tuning_job.proto comments).
The dataset objects are read by the run (see tuning_jobs/examples.py), so their problems make a
FAILED job, not a create error.
"""

from __future__ import annotations

import math
import re

from google.cloud.aiplatform_v1.types.tuning_job import SupervisedHyperParameters, TuningJob

from reconciler.emulator.errors import invalid
from reconciler.emulator.labelrules import validate_labels

AdapterSize = SupervisedHyperParameters.AdapterSize

# A Gemini model id such as gemini-2.5-flash or gemini-2.0-flash-001, bare or as a publisher
# model name (TuningJob.base_model: "The base model that is being tuned").
_GEMINI_ID = r"gemini-[0-9][a-z0-9.-]*[a-z0-9]"
_BASE_MODEL = re.compile(
    rf"(?:(?:projects/[^/]+/locations/[^/]+/)?publishers/google/models/)?(?P<id>{_GEMINI_ID})"
)
_GCS_OBJECT = re.compile(r"gs://[^/\s]+/\S+")
# TuningJob.tuned_model_display_name: "The name can be up to 128 characters long".
MAX_DISPLAY_NAME = 128
# DESIGN.md "TuningJob facts" (Vertex AI docs): adapter sizes per model. Models not listed
# take any defined size here.
ADAPTER_SIZES = {
    "gemini-2.5-pro": (1, 2, 4, 8),
    "gemini-2.5-flash": (1, 2, 4, 8, 16),
}
# AdapterSize numbers are not the sizes (tuning_job.py, SupervisedHyperParameters.AdapterSize).
SIZE_OF = {
    AdapterSize.ADAPTER_SIZE_ONE: 1,
    AdapterSize.ADAPTER_SIZE_TWO: 2,
    AdapterSize.ADAPTER_SIZE_FOUR: 4,
    AdapterSize.ADAPTER_SIZE_EIGHT: 8,
    AdapterSize.ADAPTER_SIZE_SIXTEEN: 16,
    AdapterSize.ADAPTER_SIZE_THIRTY_TWO: 32,
}


def validate_tuning_job(job: TuningJob) -> list[tuple[str, str]]:
    """Raises INVALID_ARGUMENT naming the first problem.

    Returns the gs:// objects the run reads, as (what, uri) pairs for its error message.
    """
    if TuningJob.pb(job).HasField("pre_tuned_model"):
        raise invalid("tuning_job.pre_tuned_model: continuous tuning is not emulated")
    model_id = base_model_id(job.base_model)
    if len(job.tuned_model_display_name) > MAX_DISPLAY_NAME:
        raise invalid(
            f"tuning_job.tuned_model_display_name is longer than {MAX_DISPLAY_NAME} characters"
        )
    validate_labels(job.labels, "tuning_job.labels")
    if not TuningJob.pb(job).HasField("supervised_tuning_spec"):
        raise invalid("tuning_job.supervised_tuning_spec is required")
    spec = job.supervised_tuning_spec
    where = "tuning_job.supervised_tuning_spec"
    if spec.evaluation_config:
        raise invalid(f"{where}.evaluation_config is not emulated")
    # SupervisedTuningSpec: training_dataset_uri "Required. Cloud Storage path to file
    # containing training dataset", validation_dataset_uri "Optional" (same form).
    if not spec.training_dataset_uri:
        raise invalid(f"{where}.training_dataset_uri is required")
    objects = []
    for field, uri in (
        ("training", spec.training_dataset_uri),
        ("validation", spec.validation_dataset_uri),
    ):
        if not uri:
            continue
        if not _GCS_OBJECT.fullmatch(uri):
            raise invalid(f"{where}.{field}_dataset_uri {uri!r} is not a gs://BUCKET/OBJECT URI")
        objects.append((f"{field} dataset", uri))
    _validate_hyper_parameters(spec.hyper_parameters, model_id, f"{where}.hyper_parameters")
    return objects


def base_model_id(base_model: str) -> str:
    """The model id of `base_model` (`gemini-2.5-flash`); INVALID_ARGUMENT if not Gemini."""
    if not base_model:
        raise invalid("tuning_job.base_model is required")
    match = _BASE_MODEL.fullmatch(base_model)
    if match is None:
        raise invalid(
            f"tuning_job.base_model {base_model!r} is not a tunable Gemini model "
            "(e.g. gemini-2.5-flash or publishers/google/models/gemini-2.5-flash)"
        )
    return match["id"]


def _validate_hyper_parameters(
    params: SupervisedHyperParameters, model_id: str, where: str
) -> None:
    if params.epoch_count < 0:
        raise invalid(f"{where}.epoch_count must not be negative, got {params.epoch_count}")
    rate = params.learning_rate_multiplier
    if not math.isfinite(rate) or rate < 0:
        raise invalid(f"{where}.learning_rate_multiplier must be a finite number >= 0, got {rate}")
    # proto3 enums are open: an undefined number arrives as a bare int. 0 (UNSPECIFIED) is
    # the same as unset on the wire, so it means "the service's default".
    number = int(params.adapter_size)
    if number == 0:
        return
    if number not in {int(size) for size in SIZE_OF}:
        raise invalid(f"{where}.adapter_size {number} is not a defined AdapterSize value")
    size = SIZE_OF[AdapterSize(number)]
    allowed = ADAPTER_SIZES.get(model_id)
    if allowed is not None and size not in allowed:
        raise invalid(
            f"{where}.adapter_size {size} is not supported for {model_id}; "
            f"supported: {', '.join(map(str, allowed))}"
        )
