"""The YAML desired state: pydantic models and loading with `file:line:column` errors."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    ValidationError,
)

from reconciler.core import labels as managed
from reconciler.errors import ConfigError, Location, Problem, display_path
from reconciler.load.yamlsource import Document, KeyPath, YamlProblem, load_documents

CONFIG_DIR = "configs"
SETTINGS_FILE = "reconciler.yaml"

Task = Literal["code-generation", "code-chat"]
TuningLocation = Literal["us-central1", "europe-west4"]
BaseModelRef = Literal["code-bison@001", "codechat-bison@001"]

MODEL_FOR_TASK: dict[str, str] = {
    "code-generation": "code-bison@001",
    "code-chat": "codechat-bison@001",
}
DEFAULT_EVALUATION_INTERVAL = 20

LabelKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]
LabelValue = Annotated[str, Field(pattern=r"^[a-z0-9_-]{0,63}$")]
GCS_SCHEME = "gs://"
GcsUri = Annotated[str, Field(pattern=r"^gs://[a-z0-9][a-z0-9._-]{1,221}[a-z0-9](/.*)?$")]


def _number_as_text(value: Any) -> Any:
    # An unquoted TensorBoard id reads as an int in YAML; it is an opaque id all the same.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class JobSpec(BaseModel):
    """One tuning job; keys mirror the parameter names of the Vertex AI reference."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")]
    task: Task
    large_model_reference: BaseModelRef | None = None
    dataset_uri: Annotated[str, Field(min_length=1)]
    evaluation_data_uri: Annotated[str, Field(min_length=1)] | None = None
    evaluation_interval: PositiveInt | None = None
    enable_early_stopping: bool | None = None
    tensorboard_resource_id: Annotated[
        str, BeforeValidator(_number_as_text), Field(pattern=r"^[0-9]+$")
    ] | None = None
    tuning_location: TuningLocation = "us-central1"
    train_steps: PositiveInt = 300
    learning_rate_multiplier: PositiveFloat = 1.0
    encryption_spec_key_name: Annotated[
        str, Field(pattern=r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$")
    ] | None = None
    model_display_name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    description: str | None = None
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=48)

    @property
    def base_model(self) -> str:
        return self.large_model_reference or MODEL_FOR_TASK[self.task]

    @property
    def display_name(self) -> str:
        return self.model_display_name or self.name

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


class Settings(BaseModel):
    """`configs/reconciler.yaml`: where jobs run and what every job inherits."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    project: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")] | None = None
    region: Literal["us-central1"] = "us-central1"
    staging_bucket: GcsUri | None = None
    cancel_superseded: bool = True
    defaults: dict[str, Any] = Field(default_factory=dict)


# Used when no project is configured: the embedded emulator plays Vertex AI and Cloud Storage.
LOCAL_PROJECT = "tuneops-local"
LOCAL_STAGING_BUCKET = "gs://tuneops-local/staging"


@dataclass(frozen=True)
class JobConfig:
    spec: JobSpec
    document: Document
    # Keys that came from `defaults:` are located in reconciler.yaml, not in the job file.
    defaults_document: Document | None

    def locate(self, keys: KeyPath) -> Location:
        return _locate(self.document, self.defaults_document, keys)

    @property
    def location(self) -> Location:
        return self.document.start


@dataclass(frozen=True)
class Target:
    """Where jobs run: a GCP project, or the embedded emulator when none is configured."""

    project: str
    local: bool
    staging_bucket: str


@dataclass(frozen=True)
class RepoConfig:
    root: Path
    settings: Settings
    jobs: tuple[JobConfig, ...]

    @property
    def local_dataset_paths(self) -> set[str]:
        """Repository paths of the datasets jobs use (gs:// datasets live elsewhere)."""
        uris = {job.spec.dataset_uri for job in self.jobs}
        uris |= {job.spec.evaluation_data_uri for job in self.jobs
                 if job.spec.evaluation_data_uri}
        return {uri for uri in uris if not uri.startswith(GCS_SCHEME)}

    @property
    def target(self) -> Target:
        return Target(
            project=self.settings.project or LOCAL_PROJECT,
            local=self.settings.project is None,
            staging_bucket=(self.settings.staging_bucket or LOCAL_STAGING_BUCKET).rstrip("/"),
        )


def _locate(document: Document, defaults_document: Document | None, keys: KeyPath) -> Location:
    if (defaults_document is not None and keys and keys[0] not in document.data
            and ("defaults", keys[0]) in defaults_document.positions):
        return defaults_document.locate(("defaults", *keys))
    return document.locate(keys)


def _pydantic_problems(
    error: ValidationError, locate: Callable[[KeyPath], Location], fields: list[str], subject: str
) -> list[Problem]:
    problems = []
    for item in error.errors():
        keys: KeyPath = tuple(item["loc"])
        key = ".".join(str(k) for k in keys)
        if item["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(keys[-1]), fields, n=1)
            hint = (f"; did you mean '{close[0]}'?" if close
                    else f"; known keys: {', '.join(fields)}")
            message = f"unknown key '{key}'{hint}"
        elif item["type"] == "missing":
            message = f"missing required key '{key}'"
        else:
            message = f"{key}: {item['msg']}"
        problems.append(Problem(locate(keys), message, subject=subject))
    return problems


def _read_documents(path: Path, shown: str) -> list[Document]:
    try:
        return load_documents(path.read_text(encoding="utf-8"), shown)
    except UnicodeDecodeError as error:
        raise YamlProblem(Problem(Location(shown), f"not UTF-8 text: {error.reason}")) from None


def _load_settings(path: Path, shown: str) -> tuple[Settings, Document | None, list[Problem]]:
    if not path.exists():
        return Settings(), None, []
    try:
        documents = _read_documents(path, shown)
    except YamlProblem as problem:
        return Settings(), None, [problem.problem]
    if not documents:
        return Settings(), None, []
    document = documents[0]
    if not isinstance(document.data, dict):
        return Settings(), None, [Problem(document.start, "settings must be a mapping")]
    try:
        settings = Settings.model_validate(document.data)
    except ValidationError as error:
        fields = list(Settings.model_fields)
        return Settings(), None, _pydantic_problems(error, document.locate, fields, "settings")
    problems = [
        Problem(document.locate(("defaults", key)), f"'{key}' cannot have a default",
                subject="settings")
        for key in settings.defaults
        if key == "name" or key not in JobSpec.model_fields
    ]
    return settings, document, problems


def _job_files(config_dir: Path) -> list[Path]:
    files = [*config_dir.rglob("*.yaml"), *config_dir.rglob("*.yml")]
    return sorted(f for f in files if f.name != SETTINGS_FILE)


def _parse_job(
    document: Document, settings: Settings, defaults_document: Document | None
) -> tuple[JobConfig | None, list[Problem]]:
    if not isinstance(document.data, dict):
        return None, [Problem(document.start, "a job document must be a mapping of keys")]
    subject = str(document.data.get("name", ""))
    merged = {**settings.defaults, **document.data}
    try:
        spec = JobSpec.model_validate(merged)
    except ValidationError as error:
        def locate(keys: KeyPath) -> Location:
            return _locate(document, defaults_document, keys)

        return None, _pydantic_problems(error, locate, list(JobSpec.model_fields), subject)
    job = JobConfig(spec, document, defaults_document)
    return job, [Problem(job.locate(keys), message, subject=spec.name)
                 for keys, message in cross_field_problems(spec)]


def cross_field_problems(spec: JobSpec) -> list[tuple[KeyPath, str]]:
    """The reference's rules that tie one key to another, each located at the key to fix."""
    problems: list[tuple[KeyPath, str]] = []
    expected = MODEL_FOR_TASK[spec.task]
    if spec.base_model != expected:
        problems.append((("large_model_reference",),
                         f"task {spec.task} tunes {expected}, not {spec.base_model}"))
    has_eval = spec.evaluation_data_uri is not None
    if has_eval and spec.task != "code-generation":
        problems.append((("evaluation_data_uri",),
                         "evaluation data is supported for code-generation only"))
    if not has_eval and spec.evaluation_interval is not None:
        problems.append((("evaluation_interval",),
                         "needs evaluation_data_uri (evaluation runs on the evaluation dataset)"))
    if not has_eval and spec.enable_early_stopping:
        problems.append((("enable_early_stopping",),
                         "needs evaluation_data_uri (early stopping compares evaluations)"))
    if spec.tensorboard_resource_id is not None and spec.base_model != "code-bison@001":
        problems.append((("tensorboard_resource_id",),
                         "TensorBoard metrics are available for code-bison only"))
    if spec.encryption_spec_key_name is not None and spec.tuning_location != "us-central1":
        problems.append((("encryption_spec_key_name",),
                         f"CMEK is supported in us-central1 only, not {spec.tuning_location}"))
    problems.extend(
        (("labels", key), f"label '{key}' is reserved for tuneops")
        for key in spec.labels
        if managed.is_managed_key(key)
    )
    return problems


def load_config(root: Path) -> RepoConfig:
    """Every job under `configs/`, validated; raises ConfigError listing all problems."""
    config_dir = root / CONFIG_DIR
    if not config_dir.is_dir():
        raise ConfigError([Problem(Location(str(config_dir)), "no configs/ directory here; "
                                   "run reconcile from a repository that has one")])
    settings_path = config_dir / SETTINGS_FILE
    settings, defaults_document, problems = _load_settings(
        settings_path, display_path(settings_path, root))
    jobs: list[JobConfig] = []
    for path in _job_files(config_dir):
        shown = display_path(path, root)
        try:
            documents = _read_documents(path, shown)
        except YamlProblem as problem:
            problems.append(problem.problem)
            continue
        for document in documents:
            job, found = _parse_job(document, settings, defaults_document)
            problems.extend(found)
            if job is not None:
                jobs.append(job)
    problems.extend(_duplicate_names(jobs))
    if problems:
        raise ConfigError(problems)
    return RepoConfig(root, settings, tuple(jobs))


def _duplicate_names(jobs: list[JobConfig]) -> list[Problem]:
    first: dict[str, JobConfig] = {}
    problems = []
    for job in jobs:
        earlier = first.setdefault(job.spec.name, job)
        if earlier is not job:
            problems.append(Problem(job.locate(("name",)),
                                    f"name is already used at {earlier.locate(('name',))}; "
                                    "job names must be unique", subject=job.spec.name))
    return problems
