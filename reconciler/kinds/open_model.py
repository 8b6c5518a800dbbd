"""PURE: supervised tuning of open models (Llama, Gemma, Qwen) through Vertex AI's TuningJob.

Fields are named after google.cloud.aiplatform_v1beta1.TuningJob (googleapis/googleapis
google/cloud/aiplatform/v1beta1/tuning_job.proto), the only version with the open-model
fields: `custom_base_model`, `output_uri`, SupervisedTuningSpec.`tuning_mode` and the
hyper-parameters `learning_rate` and `batch_size` ("only available for open source models").
Like the Gemini kind, the service names the job, so the launch carries a lease instead of an
id (backends/tuning_job.py, backends/leases.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from reconciler.core import labels as managed
from reconciler.core.desired import Dataset, DesiredJob, Role, Target
from reconciler.core.estimate import Estimate
from reconciler.core.numbers import YAML_NUMBER
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
from reconciler.kinds.open_model_catalog import (
    BASELINE_LEARNING_RATES,
    MAX_VALIDATION_SHARE,
    MODELS,
    PEFT,
    model_of,
)
from reconciler.kinds.open_model_datasets import dataset_format
from reconciler.kinds.open_model_evaluation import OPEN_MODEL_EVALUATOR
from reconciler.kinds.tuning_api import (
    ADAPTER_SIZES,
    SIZE_OF_ADAPTER,
    supervised_datasets,
    token_estimate,
)

KIND = "open-model"
WEIGHT_FIELDS = (
    "kind",
    "base_model",
    "custom_base_model",
    "tuning_location",
    "tuning_mode",
    "dataset_hash",
    "validation_dataset_hash",
    "epoch_count",
    "learning_rate",
    "adapter_size",
    "batch_size",
)
# SupervisedTuningSpec.TuningMode members are the mode's name behind this prefix; the
# vertexai SDK's sft.train takes the bare names ("FULL", "PEFT_ADAPTER"), so does tuneops.
MODE_PREFIX = "TUNING_MODE_"
TuningMode = Literal["FULL", "PEFT_ADAPTER"]
# "Supported regions" of the open-model tuning page.
TuningLocation = Literal["us-central1", "europe-west4"]
TUNING_LOCATIONS: tuple[str, ...] = get_args(TuningLocation)
GcsPath = Annotated[str, Field(pattern=worded(
    r"^gs://[a-z0-9][a-z0-9._-]{1,221}[a-z0-9](/\S*)?$",
    "a Cloud Storage directory, gs://BUCKET or gs://BUCKET/PATH"))]
# Where each run writes under `output_uri` when none is set: the staging bucket.
OUTPUTS = "outputs"
class OpenModelSpec(BaseModel):
    """One open-model supervised tuning job; keys are the TuningJob API's field names."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    kind: Literal["open-model"]
    name: JobName
    # A Model Garden id, `publisher/model@version` ("meta/llama3_1@llama-3.1-8b-instruct").
    base_model: Annotated[str, Field(pattern=worded(
        r"^[a-z0-9][a-z0-9_.-]*/[a-z0-9][a-z0-9_.@-]*$", "a Model Garden id such as "
        "meta/llama3_1@llama-3.1-8b-instruct: PUBLISHER/MODEL, in lowercase letters, digits, "
        "'.', '@', '_' and '-'"))]
    # "A Cloud Storage directory that contains the model weights in .safetensors format";
    # base_model still names the model they derive from.
    custom_base_model: GcsPath | None = None
    tuning_mode: TuningMode
    training_dataset_uri: Annotated[str, Field(min_length=1)]
    validation_dataset_uri: Annotated[str, Field(min_length=1)] | None = None
    # Where runs write their artifacts, one directory each (`{output_uri}/{run}`); the API
    # requires it for open models. Unset: `{staging_bucket}/outputs`.
    output_uri: GcsPath | None = None
    # Unset, the service picks a default (which it may change); tuneops never guesses it.
    epoch_count: Annotated[int, Field(ge=1, le=100)] | None = None
    # Open models take a learning rate; learning_rate_multiplier is for Google's own models
    # ("Can only be used with 1P models", vertexai/tuning/_supervised_tuning.py).
    learning_rate: Annotated[float, Field(gt=0, allow_inf_nan=False), YAML_NUMBER] | None = None
    adapter_size: Literal[1, 2, 4, 8, 16, 32] | None = None
    # No documented range: an int64 in the API.
    batch_size: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    tuned_model_display_name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    description: Description | None = None
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=48)
    tuning_location: TuningLocation = "us-central1"
    priority: Priority = 0
    # Metadata: how its runs are scored, and which channel the best one is promoted to.
    evaluation: EvaluationSpec | None = None
    promotion: PromotionSpec | None = None


@dataclass(frozen=True)
class OpenModelLaunch:
    """A CreateTuningJobRequest's tuning_job (v1beta1), and the lease that makes it happen
    once."""

    lease: str
    location: str
    base_model: str
    custom_base_model: str | None
    tuning_mode: str
    output_uri: str
    tuned_model_display_name: str
    description: str
    training_dataset_uri: str
    validation_dataset_uri: str | None
    epoch_count: int | None
    learning_rate: float | None
    adapter_size: str | None
    batch_size: int | None
    labels: dict[str, str]
    uploads: tuple[Upload, ...]
    kind: Literal["open-model"] = "open-model"

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
        mode = self.tuning_mode.removeprefix(MODE_PREFIX).lower().replace("_", " ")
        return (f"an open-model tuning job in {self.location} (Vertex AI assigns its id): "
                f"{self.base_model}, {mode}, {epochs} epochs")


def canonical_inputs(values: Mapping[str, Any]) -> dict[str, Any]:
    """Normalises types so an epoch count of 3, 3.0 and "3" never differ."""
    inputs = {name: values.get(name) for name in WEIGHT_FIELDS}
    inputs["kind"] = KIND
    for name, number in (("epoch_count", int), ("adapter_size", int), ("batch_size", int),
                         ("learning_rate", float)):
        value = inputs[name]
        # 0 is how the API reads back "unset" for numbers: the same as not sending it.
        inputs[name] = number(value) if value else None
    # "" is how the API reads back an unset string.
    inputs["custom_base_model"] = inputs["custom_base_model"] or None
    return inputs


def observed_inputs(*, base_model: str, custom_base_model: str, location: str,
                    tuning_mode: str, hyper_parameters: Mapping[str, Any],
                    labels: Mapping[str, str]) -> dict[str, Any]:
    """The weight inputs a launched TuningJob ran with, read back from it and its labels."""
    hashes = dataset_hashes(labels)
    mode = tuning_mode.removeprefix(MODE_PREFIX)
    return canonical_inputs({
        "base_model": base_model,
        "custom_base_model": custom_base_model,
        "tuning_location": location,
        "tuning_mode": mode if mode in get_args(TuningMode) else None,
        "dataset_hash": hashes["training"],
        "validation_dataset_hash": hashes["evaluation"],
        "epoch_count": hyper_parameters.get("epoch_count"),
        "learning_rate": hyper_parameters.get("learning_rate"),
        "adapter_size": SIZE_OF_ADAPTER.get(str(hyper_parameters.get("adapter_size")), 0),
        "batch_size": hyper_parameters.get("batch_size"),
    })


class OpenModelKind(Kind[OpenModelSpec, OpenModelLaunch]):
    name = KIND
    spec = OpenModelSpec
    locations = TUNING_LOCATIONS
    # ASSUMPTION (undocumented for open models, documented for Gemini): a tuned Model
    # registers in its tuning job's own region.
    model_locations = TUNING_LOCATIONS
    # Its Model's endpoint answers Predict through its serving container
    # (open_model_evaluation.py).
    evaluator: Evaluator | None = OPEN_MODEL_EVALUATOR

    def refusal(self, target: Target) -> str:
        return ""

    def estimate(self, job: DesiredJob[OpenModelSpec], prices: Mapping[str, float]
                 ) -> Estimate:
        # Billed by training tokens, as Google's own estimate has it (vertex-ai-samples,
        # skills/vertex-tuning/open-model/scripts/calculate_cost.py: characters x tokens a
        # character x epochs x a price a million tokens), at a price it does not publish.
        spec = job.spec
        return token_estimate(job, spec.epoch_count, prices.get(spec.base_model),
                              "Google publishes no price for tuning open models (set one "
                              f"for {spec.base_model} under prices:)")

    def problems(self, spec: OpenModelSpec) -> list[Finding]:
        found: list[Finding] = []
        known = MODELS.get(spec.base_model)
        if known is not None and spec.tuning_mode not in known.modes:
            found.append((("tuning_mode",), f"{spec.base_model} is tuned in "
                          f"{' or '.join(known.modes)} mode, not {spec.tuning_mode}"))
        if spec.adapter_size is not None and spec.tuning_mode != PEFT:
            found.append((("adapter_size",), "an adapter size applies to tuning_mode "
                          f"{PEFT} only; full tuning changes every weight"))
        found += [(("labels", label), f"label '{label}' is reserved for tuneops")
                  for label in spec.labels if managed.is_managed_key(label)]
        return found

    def datasets(self, spec: OpenModelSpec) -> list[DatasetField]:
        return supervised_datasets(spec.training_dataset_uri, spec.validation_dataset_uri)

    def dataset_format(self, spec: OpenModelSpec, role: Role) -> DatasetFormat:
        return dataset_format(model_of(spec.base_model), spec.tuning_mode, role)

    def location(self, spec: OpenModelSpec) -> str:
        return spec.tuning_location

    def weight_inputs(self, spec: OpenModelSpec, datasets: Mapping[Role, Dataset]
                      ) -> dict[str, Any]:
        validation = datasets.get("evaluation")
        return canonical_inputs({
            "base_model": spec.base_model,
            "custom_base_model": spec.custom_base_model,
            "tuning_location": spec.tuning_location,
            "tuning_mode": spec.tuning_mode,
            "dataset_hash": datasets["training"].content_hash,
            "validation_dataset_hash": validation.content_hash if validation else None,
            "epoch_count": spec.epoch_count,
            "learning_rate": spec.learning_rate,
            "adapter_size": spec.adapter_size,
            "batch_size": spec.batch_size,
        })

    def metadata(self, spec: OpenModelSpec) -> dict[str, Any]:
        return model_metadata(spec.tuned_model_display_name or spec.name, spec.description,
                              spec.labels)

    def warnings(self, spec: OpenModelSpec, datasets: Mapping[Role, Dataset]) -> list[Finding]:
        found: list[Finding] = []
        if spec.base_model not in MODELS:
            found.append((("base_model",), f"{spec.base_model} is not among the open models "
                          "tuneops knows; its tuning modes and limits are left to the service"))
        if spec.custom_base_model is not None:
            found.append((("custom_base_model",), "tuneops fingerprints this path, not the "
                          "weights in it: new weights under the same path do not re-tune; "
                          "write them to a new path"))
        low, high = BASELINE_LEARNING_RATES
        if spec.learning_rate is not None and spec.learning_rate > high * 10:
            found.append((("learning_rate",), f"{spec.learning_rate:g} is far above the "
                          f"learning rates Google suggests for open models ({low:g} to "
                          f"{high:g}); a typo?"))
        training, validation = datasets.get("training"), datasets.get("evaluation")
        trained = training.examples if training else None
        checked = validation.examples if validation else None
        if trained is not None and checked is not None and (
                checked > trained * MAX_VALIDATION_SHARE):
            found.append((("validation_dataset_uri",), f"{checked} validation examples are "
                          f"more than {MAX_VALIDATION_SHARE:.0%} of the {trained} training "
                          "examples, the most Google's open-model data guide allows"))
        return found

    def launch(self, job: DesiredJob[OpenModelSpec], target: Target, commit: str, attempt: int
               ) -> OpenModelLaunch:
        spec = job.spec
        uploads: list[Upload] = []
        uris = {d.role: launched_uri(d, target.staging_bucket, uploads) for d in job.datasets}
        inputs = job.inputs
        lease = run_id(job.name, job.fingerprint, attempt)
        outputs = (spec.output_uri or f"{target.staging_bucket}/{OUTPUTS}").rstrip("/")
        return OpenModelLaunch(
            lease=lease,
            location=job.location,
            base_model=spec.base_model,
            custom_base_model=inputs["custom_base_model"],
            tuning_mode=MODE_PREFIX + spec.tuning_mode,
            # One directory a run: a re-tune never writes over the artifacts of the last.
            output_uri=f"{outputs}/{lease}",
            tuned_model_display_name=job.metadata["model_display_name"],
            description=job.metadata["description"],
            training_dataset_uri=uris["training"],
            validation_dataset_uri=uris.get("evaluation"),
            epoch_count=inputs["epoch_count"],
            learning_rate=inputs["learning_rate"],
            adapter_size=ADAPTER_SIZES.get(inputs["adapter_size"]),
            batch_size=inputs["batch_size"],
            labels=job_labels(job, commit, attempt),
            uploads=tuple(uploads),
        )


OPEN_MODEL = OpenModelKind()
