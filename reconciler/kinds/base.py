"""PURE: what a kind of tuning job tells the rest of tuneops about itself.

A kind owns its YAML spec, which fields change the tuned weights and their canonical form,
the format of its datasets, the launch request it becomes, and how a launched job reads back
into the same inputs. Everything else (loading, planning, applying, rendering) is shared.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeVar

from reconciler.core import labels as managed
from reconciler.core.desired import Dataset, DesiredJob, Role, Target
from reconciler.core.estimate import Estimate
from reconciler.core.fingerprint import metadata_digest
from reconciler.core.numbers import YAML_NUMBER

KeyPath = tuple[str | int, ...]
# (the key to fix, what is wrong), located by the loader.
Finding = tuple[KeyPath, str]
# One walk of a record: why it is invalid (None: it is an example), and its estimated tokens
# (0 where the format estimates none). It runs once per example of every dataset.
RecordCheck = Callable[[dict[str, Any]], tuple[str | None, int]]


# Each field pattern's rule in words, for error messages: nobody should have to read a regex.
PATTERN_RULES: dict[str, str] = {}


def worded(pattern: str, rule: str) -> str:
    """`pattern`, remembered with the rule it stands for ("1 to 40 lowercase letters...")."""
    PATTERN_RULES[pattern] = rule
    return pattern


# Field types every kind's spec shares.
JobName = Annotated[str, Field(pattern=worded(
    r"^[a-z][a-z0-9-]{0,39}$", "1 to 40 lowercase letters, digits and hyphens, starting with "
    "a letter"))]
LabelKey = Annotated[str, Field(pattern=worded(
    r"^[a-z][a-z0-9_-]{0,62}$", "a label key of 1 to 63 lowercase letters, digits, '_' and "
    "'-', starting with a letter"))]
LabelValue = Annotated[str, Field(pattern=worded(
    r"^[a-z0-9_-]{0,63}$", "a label value of at most 63 lowercase letters, digits, '_' and "
    "'-'"))]
KmsKey = worded(r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$",
                "a key's full name, projects/P/locations/L/keyRings/R/cryptoKeys/K")
# Finite only: YAML's .inf and .nan are numbers to pydantic, never to Vertex AI.
Multiplier = Annotated[float, Field(gt=0, allow_inf_nan=False), YAML_NUMBER]
# Vertex AI documents no limit for a Model's description; this keeps UpdateModel far below
# gRPC's 4 MB message limit, which a 50 MB description hit after minutes of retries.
MAX_DESCRIPTION = 16_384
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION)]
# Which launches get quota first under `limits:` (higher first, then config order); it
# changes neither the weights nor the Model.
Priority = Annotated[int, Field(ge=-1000, le=1000)]

TOKENS_CLOSE = 0.8
TOKENS_CLEARLY_OVER = 2.0

# The metrics of core.channels.METRICS, as a job document names them.
Metric = Literal["exact_match", "bleu", "rouge_l"]
# A channel is part of a label key (`tuneops-channel-{channel}`), so it is named as a job
# is (its rule in words with it): at most 40 characters.
Channel = JobName


class EvaluationSpec(BaseModel):
    """`evaluation:` of a job: metadata, never a weight input (adding or changing it never
    re-tunes). The dataset is in the kind's own format; each example's last model turn is
    its reference, the turns before it the prompt."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    dataset_uri: Annotated[str, Field(min_length=1)]
    metric: Metric


class PromotionSpec(BaseModel):
    """`promotion:` of a job: the channel its best evaluated run is promoted to."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    channel: Channel
    # A floor: a run scoring less is never promoted.
    min_score: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False),
                         YAML_NUMBER] | None = None
    # The new run must score at least the channel's current run (on the same data).
    must_beat_current: bool = True


@dataclass(frozen=True)
class Prompt:
    """What one evaluation example asks a tuned model that answers GenerateContent: its
    `contents` and `system_instruction` (prediction_service.proto, GenerateContentRequest),
    in the proto's own field names."""

    contents: tuple[dict[str, Any], ...]
    system_instruction: dict[str, Any] | None = None


@dataclass(frozen=True)
class Instance:
    """What one evaluation example asks a model whose serving container answers Predict:
    one of PredictRequest's `instances` (prediction_service.proto), in the container's own
    format, and how the answer's text is read from the prediction it returns (the
    prediction as JSON: a string, an object...)."""

    body: dict[str, Any]
    answer: Callable[[Any], str]


# What one evaluation example asks a run's endpoint: the request decides the method.
Question = Prompt | Instance


class Evaluator(Protocol):
    """How a kind's runs are evaluated: a kind that has none cannot be (its spec then has
    no `evaluation:` key)."""

    def settings(self, spec: Any) -> tuple[EvaluationSpec | None, PromotionSpec | None]:
        """The job's `evaluation:` and `promotion:`."""

    def split(self, record: dict[str, Any]) -> tuple[Question, str]:
        """One example of the evaluation dataset (valid in the kind's format) as the
        question sent to the run's endpoint and the reference its answer is scored
        against."""

    def price(self, spec: Any, prices: Mapping[str, float]) -> tuple[str, float | None]:
        """The model a run of `spec` is priced as, and US dollars per million tokens it
        answers with (`prices`, the `prediction_prices:` setting, over the kind's table;
        None when unknown)."""


@dataclass(frozen=True)
class DatasetFormat:
    """How a kind's dataset lines are checked, and how many examples it takes."""

    # Part of the dataset cache key: a file valid for one format says nothing of another.
    name: str
    check: RecordCheck
    examples: tuple[int, int]
    # Examples below this many draw a warning (training data only).
    recommended: int = 0
    # Whether an example lacks an instruction ("Write the code in Python: ..."), if it matters.
    lacks_instruction: Callable[[dict[str, Any]], bool] | None = None
    # Whether `check` estimates an example's tokens, how, and the model's limit for one
    # example: near it warns (TOKENS_CLOSE), far over it is an error (TOKENS_CLEARLY_OVER).
    tokens: bool = False
    tokens_how: str = ""
    max_tokens: int = 0
    # The largest file and line the service takes (0: no limit of the format's own).
    max_bytes: int = 0
    max_line_bytes: int = 0


@dataclass(frozen=True)
class DatasetField:
    """A YAML key that names a dataset of the job."""

    key: str
    role: Role
    uri: str


@dataclass(frozen=True)
class Upload:
    """A local dataset copied to its content-addressed object before launch."""

    source: str
    destination: str


class LaunchRequest(Protocol):
    """What every kind's launch tells apply and the plan; the rest is its kind's request."""

    @property
    def kind(self) -> str:
        """The kind's name: the backend hands the launch to that kind's adapter."""

    @property
    def job_id(self) -> str: ...

    @property
    def location(self) -> str: ...

    @property
    def uploads(self) -> tuple[Upload, ...]: ...

    @property
    def labels(self) -> dict[str, str]: ...

    @property
    def known_id(self) -> str | None:
        """The job's id before it is created, when the kind picks it; None when the service
        assigns it (the plan then shows no id)."""

    @property
    def summary(self) -> str:
        """One line for the plan: what is launched, where."""


# A kind's validated YAML spec and its launch request; bare `Kind` is Kind[Any, Any].
SpecT = TypeVar("SpecT", bound=BaseModel, default=Any)
LaunchT_co = TypeVar("LaunchT_co", bound=LaunchRequest, covariant=True, default=Any)


# Where a kind's concurrent jobs are counted for quota: per location, or once per project.
QuotaScope = Literal["location", "project"]


class Kind(Protocol[SpecT, LaunchT_co]):
    # How the service counts its concurrent jobs; `limits:` counts them the same way.
    quota_scope: QuotaScope = "location"

    @property
    def name(self) -> str:
        """The value of `kind:` in a job document."""

    @property
    def spec(self) -> type[SpecT]:
        """Its YAML fields, with `name` and `kind` (a Literal of `name`) among them."""

    @property
    def locations(self) -> tuple[str, ...]:
        """The regions its jobs tune in: where the backend lists them."""

    @property
    def model_locations(self) -> tuple[str, ...]:
        """The regions where its runs register their Models."""

    def problems(self, spec: SpecT) -> list[Finding]:
        """Rules that tie one key to another, each located at the key to fix."""

    def datasets(self, spec: SpecT) -> list[DatasetField]:
        """The datasets the job names, training first."""

    def dataset_format(self, spec: SpecT, role: Role) -> DatasetFormat: ...

    def location(self, spec: SpecT) -> str:
        """The region the job tunes in."""

    def weight_inputs(self, spec: SpecT, datasets: Mapping[Role, Dataset]) -> dict[str, Any]:
        """Exactly the inputs that change the tuned weights, in canonical form."""

    def metadata(self, spec: SpecT) -> dict[str, Any]:
        """What a change updates on the Model in place: display name, description, labels."""

    def warnings(self, spec: SpecT, datasets: Mapping[Role, Dataset]) -> list[Finding]: ...

    def launch(self, job: DesiredJob[SpecT], target: Target, commit: str, attempt: int
               ) -> LaunchT_co:
        """The exact request apply sends, as this kind's launch type."""

    def refusal(self, target: Target) -> str:
        """Why no job of this kind may be launched on `target` ("" when it may)."""

    def estimate(self, job: DesiredJob[SpecT], prices: Mapping[str, float]) -> Estimate:
        """What one launch of `job` will spend, as far as can be known before the run."""

    @property
    def evaluator(self) -> Evaluator | None:
        """How its runs are evaluated, or None: they cannot be."""


def model_metadata(display_name: str, description: str | None, labels: Mapping[str, str]
                   ) -> dict[str, Any]:
    """What a change updates on the Model in place, in the form every kind compares."""
    return {"model_display_name": display_name, "description": description or "",
            "labels": dict(sorted(labels.items()))}


def run_id(name: str, fingerprint: str, attempt: int = 1) -> str:
    """Deterministic: a pipeline job's id, a tuning job's lease; a second apply racing the
    first finds the same name, never a twin."""
    base = f"{name}-{fingerprint[:12]}"
    return base if attempt == 1 else f"{base}-r{attempt}"


def staged_uri(staging_bucket: str, content_hash: str) -> str:
    return f"{staging_bucket}/datasets/{content_hash}.jsonl"


def staged_hash(uri: str) -> str:
    """The content hash a staged object is named by (the inverse of staged_uri)."""
    return posixpath.basename(uri).removesuffix(".jsonl")


def launched_uri(dataset: Dataset, staging_bucket: str, uploads: list[Upload]) -> str:
    """Where the service reads a dataset: gs:// as configured, local files once uploaded."""
    if dataset.path is None:
        return dataset.uri
    destination = staged_uri(staging_bucket, dataset.content_hash)
    uploads.append(Upload(dataset.path, destination))
    return destination


_DATASET_LABELS: dict[Role, str] = {"training": managed.DATASET,
                                    "evaluation": managed.EVALUATION_DATASET}


def job_labels(job: DesiredJob, commit: str, attempt: int) -> dict[str, str]:
    """The labels by which tuneops recognises its jobs and reads their inputs back."""
    labels = {
        **job.metadata["labels"],
        managed.MANAGED_BY: managed.MANAGER,
        managed.NAME: job.name,
        managed.FINGERPRINT: job.fingerprint,
        managed.ATTEMPT: str(attempt),
        managed.METADATA: metadata_digest(job.metadata["model_display_name"],
                                          job.metadata["labels"]),
    }
    labels.update({_DATASET_LABELS[d.role]: d.content_hash for d in job.datasets})
    if commit:
        labels[managed.COMMIT] = commit
    return dict(sorted(labels.items()))


def dataset_hashes(labels: Mapping[str, str]) -> dict[Role, str | None]:
    """The dataset content hashes a launched job recorded in its labels."""
    return {role: labels.get(key) for role, key in _DATASET_LABELS.items()}
