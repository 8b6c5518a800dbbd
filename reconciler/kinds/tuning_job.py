"""PURE: Gemini supervised tuning through Vertex AI's GenAiTuningService (TuningJob).

Fields are named after google.cloud.aiplatform_v1.TuningJob. The service picks a job's id,
so unlike the pipeline kind the launch carries a lease name instead of a job id: apply holds
that lease (a create-only-if-absent object) while it creates the job, so each fingerprint
is tuned once however many applies race.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from reconciler.core import labels as managed
from reconciler.core.desired import Dataset, DesiredJob, Role, Target
from reconciler.core.estimate import Estimate
from reconciler.kinds.base import (
    DatasetField,
    DatasetFormat,
    Description,
    EvaluationSpec,
    Evaluator,
    Finding,
    JobName,
    Kind,
    LabelKey,
    LabelValue,
    Multiplier,
    Priority,
    PromotionSpec,
    Upload,
    dataset_hashes,
    job_labels,
    launched_uri,
    model_metadata,
    run_id,
    worded,
)
from reconciler.kinds.gemini import MODELS, PRICES, limits_of, misspelling_of
from reconciler.kinds.tuning_api import (
    ADAPTER_SIZES,
    SIZE_OF_ADAPTER,
    supervised_datasets,
    token_estimate,
)
from reconciler.kinds.tuning_job_datasets import dataset_format
from reconciler.kinds.tuning_job_evaluation import GEMINI_EVALUATOR

KIND = "tuning-job"
WEIGHT_FIELDS = (
    "kind",
    "base_model",
    "tuning_location",
    "dataset_hash",
    "validation_dataset_hash",
    "epoch_count",
    "learning_rate_multiplier",
    "adapter_size",
    "encryption_spec_key_name",
)
# Regions where Gemini supervised tuning runs, and where each job's Model registers:
# "Supported tuning job regions" (Vertex AI docs, gemini-supervised-tuning-region-settings,
# read 2026-12; its US regions as the Generative AI locations page lists them).
TuningLocation = Literal[
    "us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west4",
    "northamerica-northeast1", "southamerica-east1",
    "europe-central2", "europe-north1", "europe-southwest1", "europe-west1", "europe-west2",
    "europe-west3", "europe-west4", "europe-west6", "europe-west8", "europe-west9",
    "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast3", "asia-south1",
    "asia-southeast1", "australia-southeast1", "me-central1", "me-central2", "me-west1",
]
TUNING_LOCATIONS: tuple[str, ...] = get_args(TuningLocation)
_KMS_KEY = re.compile(r"^projects/[^/]+/locations/(?P<location>[^/]+)/keyRings/[^/]+"
                      r"/cryptoKeys/[^/]+$")


class TuningJobSpec(BaseModel):
    """One Gemini supervised tuning job; keys are the TuningJob API's field names."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    kind: Literal["tuning-job"]
    name: JobName
    base_model: Annotated[str, Field(pattern=worded(
        r"^[a-z0-9][a-z0-9.@_-]{0,127}$", "a model id such as gemini-2.5-flash: lowercase "
        "letters, digits, '.', '@', '_' and '-'"))]
    training_dataset_uri: Annotated[str, Field(min_length=1)]
    validation_dataset_uri: Annotated[str, Field(min_length=1)] | None = None
    # Unset, the service picks a default (which it may change); tuneops never guesses it.
    epoch_count: Annotated[int, Field(ge=1, le=100)] | None = None
    learning_rate_multiplier: Multiplier | None = None
    adapter_size: Literal[1, 2, 4, 8, 16, 32] | None = None
    export_last_checkpoint_only: bool | None = None
    tuned_model_display_name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    description: Description | None = None
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=48)
    encryption_spec_key_name: Annotated[str, Field(pattern=worded(
        _KMS_KEY.pattern, "a key's full name, projects/P/locations/L/keyRings/R/cryptoKeys/K"))
    ] | None = None
    service_account: Annotated[str, Field(pattern=worded(
        r"^[^@\s]+@[^@\s]+$", "a service account's email address"))] | None = None
    tuning_location: TuningLocation = "us-central1"
    priority: Priority = 0
    # Metadata: how its runs are scored, and which channel the best one is promoted to.
    evaluation: EvaluationSpec | None = None
    promotion: PromotionSpec | None = None


@dataclass(frozen=True)
class TuningJobLaunch:
    """A CreateTuningJobRequest's tuning_job, and the lease that makes it happen once."""

    lease: str
    location: str
    base_model: str
    tuned_model_display_name: str
    description: str
    training_dataset_uri: str
    validation_dataset_uri: str | None
    epoch_count: int | None
    learning_rate_multiplier: float | None
    adapter_size: str | None
    export_last_checkpoint_only: bool | None
    labels: dict[str, str]
    kms_key_name: str | None
    service_account: str | None
    uploads: tuple[Upload, ...]
    kind: Literal["tuning-job"] = "tuning-job"

    @property
    def job_id(self) -> str:
        """Until the service names the job, the lease stands for it."""
        return self.lease

    @property
    def known_id(self) -> str | None:
        """None: the service names a TuningJob when it creates it."""
        return None

    @property
    def summary(self) -> str:
        epochs = self.epoch_count or "the service's default"
        return (f"a tuning job in {self.location} (Vertex AI assigns its id): "
                f"{self.base_model}, {epochs} epochs")


def canonical_inputs(values: Mapping[str, Any]) -> dict[str, Any]:
    """Normalises types so an epoch count of 3, 3.0 and "3" never differ."""
    inputs = {name: values.get(name) for name in WEIGHT_FIELDS}
    inputs["kind"] = KIND
    for name, number in (("epoch_count", int), ("adapter_size", int),
                         ("learning_rate_multiplier", float)):
        value = inputs[name]
        # 0 is how the API reads back "unset" for numbers: the same as not sending it.
        inputs[name] = number(value) if value else None
    return inputs


def observed_inputs(*, base_model: str, location: str, hyper_parameters: Mapping[str, Any],
                    kms_key_name: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """The weight inputs a launched TuningJob ran with, read back from it and its labels."""
    hashes = dataset_hashes(labels)
    return canonical_inputs({
        "base_model": base_model,
        "tuning_location": location,
        "dataset_hash": hashes["training"],
        "validation_dataset_hash": hashes["evaluation"],
        "epoch_count": hyper_parameters.get("epoch_count"),
        "learning_rate_multiplier": hyper_parameters.get("learning_rate_multiplier"),
        "adapter_size": SIZE_OF_ADAPTER.get(str(hyper_parameters.get("adapter_size")), 0),
        "encryption_spec_key_name": kms_key_name or None,
    })


class TuningJobKind(Kind[TuningJobSpec, TuningJobLaunch]):
    name = KIND
    spec = TuningJobSpec
    # "A quota is enforced on the number of concurrent tuning jobs ... This is a global quota,
    # shared across all available regions and supported models" (Vertex AI, Gemini tuning).
    quota_scope = "project"
    locations = TUNING_LOCATIONS
    # A tuned Gemini Model registers in its tuning job's own region.
    model_locations = TUNING_LOCATIONS
    # Its endpoint answers GenerateContent (tuning_job.proto, TunedModel.endpoint).
    evaluator: Evaluator | None = GEMINI_EVALUATOR

    def refusal(self, target: Target) -> str:
        return ""

    def estimate(self, job: DesiredJob[TuningJobSpec], prices: Mapping[str, float]
                 ) -> Estimate:
        spec = job.spec
        return token_estimate(job, spec.epoch_count,
                              prices.get(spec.base_model, PRICES.get(spec.base_model)),
                              f"no list price for {spec.base_model} (set it under prices:)")

    def problems(self, spec: TuningJobSpec) -> list[Finding]:
        found: list[Finding] = []
        meant = misspelling_of(spec.base_model)
        if meant:
            found.append((("base_model",), f"base_model: {spec.base_model} is not a model "
                          f"tuneops knows; did you mean {meant}?"))
        known = MODELS.get(spec.base_model)
        if known and spec.adapter_size is not None and (
                spec.adapter_size not in known.adapter_sizes):
            sizes = ", ".join(map(str, known.adapter_sizes))
            found.append((("adapter_size",), f"{spec.base_model} takes adapter sizes {sizes}, "
                          f"not {spec.adapter_size}"))
        key = spec.encryption_spec_key_name
        match = _KMS_KEY.match(key) if key else None
        if match and match["location"] != spec.tuning_location:
            found.append((("encryption_spec_key_name",), f"the key is in {match['location']}; "
                          f"it must be in the tuning location {spec.tuning_location}"))
        found += [(("labels", label), f"label '{label}' is reserved for tuneops")
                  for label in spec.labels if managed.is_managed_key(label)]
        return found

    def datasets(self, spec: TuningJobSpec) -> list[DatasetField]:
        return supervised_datasets(spec.training_dataset_uri, spec.validation_dataset_uri)

    def dataset_format(self, spec: TuningJobSpec, role: Role) -> DatasetFormat:
        return dataset_format(limits_of(spec.base_model), role)

    def location(self, spec: TuningJobSpec) -> str:
        return spec.tuning_location

    def weight_inputs(self, spec: TuningJobSpec, datasets: Mapping[Role, Dataset]
                      ) -> dict[str, Any]:
        validation = datasets.get("evaluation")
        return canonical_inputs({
            "base_model": spec.base_model,
            "tuning_location": spec.tuning_location,
            "dataset_hash": datasets["training"].content_hash,
            "validation_dataset_hash": validation.content_hash if validation else None,
            "epoch_count": spec.epoch_count,
            "learning_rate_multiplier": spec.learning_rate_multiplier,
            "adapter_size": spec.adapter_size,
            "encryption_spec_key_name": spec.encryption_spec_key_name,
        })

    def metadata(self, spec: TuningJobSpec) -> dict[str, Any]:
        return model_metadata(spec.tuned_model_display_name or spec.name, spec.description,
                              spec.labels)

    def warnings(self, spec: TuningJobSpec, datasets: Mapping[Role, Dataset]) -> list[Finding]:
        if spec.base_model in MODELS:
            return []
        return [(("base_model",), f"{spec.base_model} is not among the models tuneops knows "
                 f"({', '.join(MODELS)}); its limits are left to the service")]

    def launch(self, job: DesiredJob[TuningJobSpec], target: Target, commit: str, attempt: int
               ) -> TuningJobLaunch:
        spec = job.spec
        uploads: list[Upload] = []
        uris = {d.role: launched_uri(d, target.staging_bucket, uploads) for d in job.datasets}
        inputs = job.inputs
        return TuningJobLaunch(
            lease=run_id(job.name, job.fingerprint, attempt),
            location=job.location,
            base_model=spec.base_model,
            tuned_model_display_name=job.metadata["model_display_name"],
            description=job.metadata["description"],
            training_dataset_uri=uris["training"],
            validation_dataset_uri=uris.get("evaluation"),
            epoch_count=inputs["epoch_count"],
            learning_rate_multiplier=inputs["learning_rate_multiplier"],
            adapter_size=ADAPTER_SIZES.get(inputs["adapter_size"]),
            export_last_checkpoint_only=spec.export_last_checkpoint_only,
            labels=job_labels(job, commit, attempt),
            kms_key_name=spec.encryption_spec_key_name,
            service_account=spec.service_account,
            uploads=tuple(uploads),
        )


TUNING_JOB = TuningJobKind()
