"""PURE: code-bison / codechat-bison tuning through the tune-large-*-model PipelineJobs.

Everything specific to the reference (shared/reference/vertex-tune-code-models.txt): its
parameters as YAML keys, its rules, its dataset formats, the pipeline job request it
describes, and the way back from a launched job to the same weight inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from reconciler.core import labels as managed
from reconciler.core.desired import Dataset, DesiredJob, Role, Target
from reconciler.core.estimate import Estimate
from reconciler.kinds.base import (
    DatasetField,
    DatasetFormat,
    Description,
    Evaluator,
    Finding,
    JobName,
    Kind,
    KmsKey,
    LabelKey,
    LabelValue,
    Multiplier,
    Priority,
    Upload,
    dataset_hashes,
    job_labels,
    launched_uri,
    model_metadata,
    run_id,
    worded,
)
from reconciler.kinds.pipeline_datasets import FORMATS

KIND = "pipeline"
_PIPELINES = "https://us-kfp.pkg.dev/ml-pipeline/large-language-model-pipelines"
TEMPLATE_URIS: dict[str, str] = {
    "code-generation": f"{_PIPELINES}/tune-large-model/v3.0.0",
    "code-chat": f"{_PIPELINES}/tune-large-chat-model/v3.0.0",
}
MODEL_FOR_TASK: dict[str, str] = {
    "code-generation": "code-bison@001",
    "code-chat": "codechat-bison@001",
}
# Tuned models are always uploaded here, wherever tuning ran.
MODEL_REGION = "us-central1"
BATCH_SIZE: dict[str, int] = {"us-central1": 8, "europe-west4": 24}
# The reference: "us-central1: Uses eight A100 80 GB GPUs"; "europe-west4: Uses 64 cores of
# the TPU v3 pod".
ACCELERATORS: dict[str, str] = {"us-central1": "8 x A100 80 GB",
                                "europe-west4": "64 TPU v3 cores"}
TUNING_LOCATIONS = tuple(BATCH_SIZE)
RECOMMENDED_TRAIN_STEPS = (200, 1000)
DEFAULT_EVALUATION_INTERVAL = 20
# More passes than this over the same examples mostly memorises them.
MAX_SENSIBLE_EPOCHS = 50

WEIGHT_FIELDS = (
    "template_uri",
    "large_model_reference",
    "tuning_location",
    "train_steps",
    "learning_rate_multiplier",
    "dataset_hash",
    "evaluation_dataset_hash",
    "evaluation_interval",
    "enable_early_stopping",
    "encryption_spec_key_name",
)
# Pipeline parameters that are weight inputs under the same name.
_DIRECT_PARAMETERS = (
    "large_model_reference",
    "train_steps",
    "learning_rate_multiplier",
    "evaluation_interval",
    "enable_early_stopping",
    "encryption_spec_key_name",
)

Task = Literal["code-generation", "code-chat"]
TuningLocation = Literal["us-central1", "europe-west4"]
BaseModelRef = Literal["code-bison@001", "codechat-bison@001"]
# The reference caps training data at 10,000 examples; 50 epochs of that at batch 8 is
# 62,500 steps, so no sensible run needs more than this, and such integers stay exact in
# the protobuf Value (a double) that carries pipeline parameters.
MAX_STEPS = 100_000
Steps = Annotated[int, Field(gt=0, le=MAX_STEPS)]

# The SDK sends a TensorBoard's full resource name and checks that its location is the
# tuning job's (vertexai/language_models/_language_models.py, tune_model); the reference
# names a bare instance id. Both are accepted; a bare id is expanded at launch.
_TENSORBOARD = re.compile(r"^(?:[0-9]+|projects/[^/]+/locations/(?P<location>[^/]+)"
                          r"/tensorboards/[0-9]+)$")


def _number_as_text(value: Any) -> Any:
    # An unquoted TensorBoard id reads as an int in YAML; it is an opaque id all the same.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class PipelineSpec(BaseModel):
    """One tuning job; keys mirror the parameter names of the Vertex AI reference."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    kind: Literal["pipeline"] = "pipeline"
    name: JobName
    task: Task
    large_model_reference: BaseModelRef | None = None
    dataset_uri: Annotated[str, Field(min_length=1)]
    evaluation_data_uri: Annotated[str, Field(min_length=1)] | None = None
    evaluation_interval: Steps | None = None
    enable_early_stopping: bool | None = None
    tensorboard_resource_id: Annotated[
        str, BeforeValidator(_number_as_text), Field(pattern=worded(
            _TENSORBOARD.pattern, "a TensorBoard instance id (digits), or its full name "
            "projects/P/locations/L/tensorboards/N"))
    ] | None = None
    tuning_location: TuningLocation = "us-central1"
    train_steps: Steps = 300
    learning_rate_multiplier: Multiplier = 1.0
    encryption_spec_key_name: Annotated[str, Field(pattern=KmsKey)] | None = None
    model_display_name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    description: Description | None = None
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=48)
    priority: Priority = 0

    @property
    def base_model(self) -> str:
        return self.large_model_reference or MODEL_FOR_TASK[self.task]

    @property
    def evaluation_interval_value(self) -> int | None:
        """The interval sent to Vertex AI: the reference's default applies only with eval data."""
        if self.evaluation_data_uri is None:
            return None
        return self.evaluation_interval or DEFAULT_EVALUATION_INTERVAL

    @property
    def early_stopping_value(self) -> bool | None:
        if self.evaluation_data_uri is None:
            return None
        return True if self.enable_early_stopping is None else self.enable_early_stopping


@dataclass(frozen=True)
class PipelineLaunch:
    """The reference's pipelineJobs.create request, as apply sends it."""

    pipeline_job_id: str
    location: str
    display_name: str
    template_uri: str
    output_directory: str
    parameters: dict[str, Any]
    labels: dict[str, str]
    kms_key_name: str | None
    uploads: tuple[Upload, ...]
    kind: Literal["pipeline"] = "pipeline"

    @property
    def job_id(self) -> str:
        return self.pipeline_job_id

    @property
    def known_id(self) -> str | None:
        """The job's id before it exists: tuneops picks it."""
        return self.pipeline_job_id

    @property
    def summary(self) -> str:
        return (f"pipeline job {self.pipeline_job_id} in {self.location}: "
                f"{self.parameters['large_model_reference']}, "
                f"{self.parameters['train_steps']} steps")


def canonical_inputs(values: Mapping[str, Any]) -> dict[str, Any]:
    """Normalises types so 300, 300.0 (how protobuf returns it) and "300" never differ."""
    inputs = {name: values.get(name) for name in WEIGHT_FIELDS}
    for name, number in (("train_steps", int), ("evaluation_interval", int),
                         ("learning_rate_multiplier", float)):
        value = inputs[name]
        if value is not None:
            inputs[name] = number(value)
    return inputs


def observed_inputs(*, template_uri: str, location: str, parameters: Mapping[str, Any],
                    labels: Mapping[str, str]) -> dict[str, Any]:
    """The weight inputs a launched job ran with, read back from its request and labels."""
    hashes = dataset_hashes(labels)
    values: dict[str, Any] = {key: parameters.get(key) for key in _DIRECT_PARAMETERS}
    values.update(template_uri=template_uri, tuning_location=location,
                  dataset_hash=hashes["training"], evaluation_dataset_hash=hashes["evaluation"])
    return canonical_inputs(values)


def observed_metadata(parameters: Mapping[str, Any], labels: Mapping[str, str]
                      ) -> dict[str, Any]:
    # The pipeline cannot set a Model description: it is written by UpdateModel only.
    return model_metadata(parameters.get("model_display_name", ""), "",
                          managed.user_labels(dict(labels)))


def tensorboard_resource(spec: PipelineSpec, project: str) -> str | None:
    value = spec.tensorboard_resource_id
    if value is None or not value.isdigit():
        return value
    return f"projects/{project}/locations/{spec.tuning_location}/tensorboards/{value}"


# "codechat-bison@001 was discontinued on 2024-07-06 and the bison family on 2025-04-09"
# (Vertex AI model pages; the SDK's vertexai.language_models is removed as of 2026-06-24).
SHUT_DOWN = ("code-bison and codechat-bison were shut down on Vertex AI on 2025-04-09, so "
             "this job can no longer be launched there; tune Gemini with `kind: tuning-job` "
             "(README: From code-bison to Gemini). Existing runs and Models still plan")


class PipelineKind(Kind[PipelineSpec, PipelineLaunch]):
    name = KIND
    spec = PipelineSpec
    locations = TUNING_LOCATIONS
    model_locations = (MODEL_REGION,)
    # Its tuned models answer `predict`, not GenerateContent, and are shut down (SHUT_DOWN).
    evaluator: Evaluator | None = None

    def refusal(self, target: Target) -> str:
        # The emulator still runs the reference's pipelines, so its flow can be tried.
        return "" if target.local else SHUT_DOWN

    def estimate(self, job: DesiredJob[PipelineSpec], prices: Mapping[str, float]) -> Estimate:
        spec = job.spec
        processed = spec.train_steps * BATCH_SIZE[spec.tuning_location]
        training = job.dataset("training")
        examples = training.examples if training is not None else None
        return Estimate(accelerators=ACCELERATORS[spec.tuning_location],
                        examples_processed=processed,
                        epochs=round(processed / examples, 2) if examples else None,
                        unknown="billed by accelerator-hours, which depend on how long the "
                        "run takes")

    def problems(self, spec: PipelineSpec) -> list[Finding]:
        problems: list[Finding] = []
        expected = MODEL_FOR_TASK[spec.task]
        if spec.base_model != expected:
            problems.append((("large_model_reference",),
                             f"task {spec.task} tunes {expected}, not {spec.base_model}"))
        has_eval = spec.evaluation_data_uri is not None
        if has_eval and spec.task != "code-generation":
            problems.append((("evaluation_data_uri",),
                             "evaluation data is supported for code-generation only"))
        if not has_eval and spec.evaluation_interval is not None:
            problems.append((("evaluation_interval",), "needs evaluation_data_uri (evaluation "
                             "runs on the evaluation dataset)"))
        if not has_eval and spec.enable_early_stopping:
            problems.append((("enable_early_stopping",), "needs evaluation_data_uri (early "
                             "stopping compares evaluations)"))
        problems += self._tensorboard_problems(spec)
        if spec.encryption_spec_key_name is not None and spec.tuning_location != "us-central1":
            problems.append((("encryption_spec_key_name",), "CMEK is supported in us-central1 "
                             f"only, not {spec.tuning_location}"))
        problems += [(("labels", key), f"label '{key}' is reserved for tuneops")
                     for key in spec.labels if managed.is_managed_key(key)]
        return problems

    @staticmethod
    def _tensorboard_problems(spec: PipelineSpec) -> list[Finding]:
        if spec.tensorboard_resource_id is None:
            return []
        key = ("tensorboard_resource_id",)
        if spec.base_model != "code-bison@001":
            return [(key, "TensorBoard metrics are available for code-bison only")]
        match = _TENSORBOARD.match(spec.tensorboard_resource_id)
        location = match["location"] if match else None
        if location is not None and location != spec.tuning_location:
            # The reference: "needs to be in the same region as the tuning pipeline".
            return [(key, f"the TensorBoard is in {location}; it must be in the tuning "
                     f"location {spec.tuning_location}")]
        return []

    def datasets(self, spec: PipelineSpec) -> list[DatasetField]:
        fields = [DatasetField("dataset_uri", "training", spec.dataset_uri)]
        if spec.evaluation_data_uri is not None:
            fields.append(DatasetField("evaluation_data_uri", "evaluation",
                                       spec.evaluation_data_uri))
        return fields

    def dataset_format(self, spec: PipelineSpec, role: Role) -> DatasetFormat:
        return FORMATS[spec.task, role]

    def location(self, spec: PipelineSpec) -> str:
        return spec.tuning_location

    def weight_inputs(self, spec: PipelineSpec, datasets: Mapping[Role, Dataset]
                      ) -> dict[str, Any]:
        evaluation = datasets.get("evaluation")
        return canonical_inputs({
            "template_uri": TEMPLATE_URIS[spec.task],
            "large_model_reference": spec.base_model,
            "tuning_location": spec.tuning_location,
            "train_steps": spec.train_steps,
            "learning_rate_multiplier": spec.learning_rate_multiplier,
            "dataset_hash": datasets["training"].content_hash,
            "evaluation_dataset_hash": evaluation.content_hash if evaluation else None,
            "evaluation_interval": spec.evaluation_interval_value,
            "enable_early_stopping": spec.early_stopping_value,
            "encryption_spec_key_name": spec.encryption_spec_key_name,
        })

    def metadata(self, spec: PipelineSpec) -> dict[str, Any]:
        return model_metadata(spec.model_display_name or spec.name, spec.description,
                              spec.labels)

    def warnings(self, spec: PipelineSpec, datasets: Mapping[Role, Dataset]) -> list[Finding]:
        key = ("train_steps",)
        found: list[Finding] = []
        low, high = RECOMMENDED_TRAIN_STEPS
        if not low <= spec.train_steps <= high:
            found.append((key, f"train_steps {spec.train_steps} is outside the recommended "
                          f"{low}..{high}"))
        examples = datasets["training"].examples
        if not examples:
            return found
        batch = BATCH_SIZE[spec.tuning_location]
        epochs = spec.train_steps * batch / examples
        estimate = (f"{spec.train_steps} steps x batch {batch} ({spec.tuning_location}) / "
                    f"{examples} examples = {epochs:.2f} epochs")
        if epochs < 1:
            found.append((key, f"{estimate}: the dataset is not seen even once"))
        elif epochs > MAX_SENSIBLE_EPOCHS:
            found.append((key, f"{estimate}: likely to overfit"))
        return found

    def launch(self, job: DesiredJob[PipelineSpec], target: Target, commit: str, attempt: int
               ) -> PipelineLaunch:
        spec = job.spec
        inputs = job.inputs
        uploads: list[Upload] = []
        parameters: dict[str, Any] = {
            "project": target.project,
            "location": MODEL_REGION,
            "large_model_reference": inputs["large_model_reference"],
            "model_display_name": job.metadata["model_display_name"],
        }
        for dataset in job.datasets:
            key = "dataset_uri" if dataset.role == "training" else "evaluation_data_uri"
            parameters[key] = launched_uri(dataset, target.staging_bucket, uploads)
        tensorboard = tensorboard_resource(spec, target.project)
        if tensorboard is not None:
            parameters["tensorboard_resource_id"] = tensorboard
        parameters.update({key: inputs[key] for key in _DIRECT_PARAMETERS
                           if inputs[key] is not None})
        return PipelineLaunch(
            pipeline_job_id=run_id(job.name, job.fingerprint, attempt),
            location=job.location,
            display_name=job.name,
            template_uri=inputs["template_uri"],
            output_directory=f"{target.staging_bucket}/pipeline-root",
            parameters=parameters,
            labels=job_labels(job, commit, attempt),
            kms_key_name=inputs["encryption_spec_key_name"],
            uploads=tuple(uploads),
        )


PIPELINE = PipelineKind()
