"""The YAML desired state: pydantic models and loading with `file:line:column` errors."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.core.budget import Budget
from reconciler.core.desired import GCS_SCHEME, Target
from reconciler.core.numbers import NonNegative
from reconciler.core.quotas import SUBMISSIONS_PER_MINUTE
from reconciler.errors import ConfigError, Location, Problem, display_path
from reconciler.kinds import DEFAULT_KIND, KINDS, KindName, limit_problem
from reconciler.kinds.base import PATTERN_RULES, Kind, worded
from reconciler.layout import CONFIG_DIR, SETTINGS_FILE
from reconciler.load.configfiles import config_files
from reconciler.load.files import repository_file
from reconciler.load.yamlfile import read_yaml_text
from reconciler.load.yamlsource import Document, KeyPath, YamlProblem, load_documents

# The key a job document may hold whatever its kind: it selects which others are allowed.
KIND_KEY = "kind"
GcsUri = Annotated[str, Field(pattern=worded(
    r"^gs://[a-z0-9][a-z0-9._-]{1,221}[a-z0-9](/.*)?$", "a gs://BUCKET or gs://BUCKET/PATH URI "
    "of a bucket name in lowercase letters, digits, '.', '_' and '-'"))]


class RequestRates(BaseModel):
    """`requests_per_minute:`: the project's Vertex AI request quotas per region, which
    apply paces its calls under (https://cloud.google.com/vertex-ai/docs/quotas, "Request
    quotas"); lower them where a project's quota is lower or other tools share it."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    # "Job or long-running operation (LRO) submission requests": creates of tuning and
    # pipeline jobs, undeploys, deletes of Models and Endpoints.
    submissions: Annotated[int, Field(ge=1, le=1_000_000)] = SUBMISSIONS_PER_MINUTE


class Settings(BaseModel):
    """`configs/reconciler.yaml`: where jobs run and what every job inherits."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    project: Annotated[str, Field(pattern=worded(
        r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$", "a project id of 6 to 30 lowercase letters, digits "
        "and hyphens, starting with a letter and not ending with a hyphen"))] | None = None
    region: Literal["us-central1"] = "us-central1"
    staging_bucket: GcsUri | None = None
    cancel_superseded: bool = True
    defaults: dict[str, Any] = Field(default_factory=dict)
    # US dollars per million training tokens, by base model, over the list prices.
    prices: dict[str, NonNegative] = Field(
        default_factory=dict)
    # US dollars per million tokens a tuned model answers with, by base model, over the list
    # prices: what evaluating a run costs.
    prediction_prices: dict[str, NonNegative] = Field(
        default_factory=dict)
    budget: Budget = Field(default_factory=Budget)
    # How many jobs of each kind may run at once per location, e.g.
    # {us-central1: {KIND: 3}}, or under `global` for a kind whose quota is one per project;
    # more launches wait as `queued`.
    limits: dict[str, dict[KindName, Annotated[int, Field(ge=0)]]] = Field(default_factory=dict)
    requests_per_minute: RequestRates = Field(default_factory=RequestRates)



# Used when no project is configured: the embedded emulator plays Vertex AI and Cloud Storage.
LOCAL_PROJECT = "tuneops-local"
LOCAL_STAGING_BUCKET = "gs://tuneops-local/staging"


@dataclass(frozen=True)
class JobConfig:
    kind: Kind
    # The kind's validated spec (a pydantic model of the kind's fields).
    spec: Any
    document: Document
    # Keys that came from `defaults:` are located in reconciler.yaml, not in the job file.
    defaults_document: Document | None

    def locate(self, keys: KeyPath) -> Location:
        return _locate(self.document, self.defaults_document, keys)

    @property
    def location(self) -> Location:
        return self.document.start

    @property
    def name(self) -> str:
        return str(self.spec.name)


@dataclass(frozen=True)
class RepoConfig:
    root: Path
    settings: Settings
    jobs: tuple[JobConfig, ...]
    # Problems that block nothing (an empty file); shown with the plan's warnings.
    warnings: tuple[Problem, ...] = ()
    # Every file under configs/ that was read (settings first), as repository paths.
    files: tuple[str, ...] = ()

    @property
    def local_dataset_paths(self) -> set[str]:
        """Repository paths of the datasets jobs use (gs:// datasets live elsewhere)."""
        uris = {wanted.uri for job in self.jobs for wanted in job.kind.datasets(job.spec)}
        return {uri for uri in uris if not uri.startswith(GCS_SCHEME)}

    @property
    def target(self) -> Target:
        return Target(
            project=self.settings.project or LOCAL_PROJECT,
            local=self.settings.project is None,
            staging_bucket=(self.settings.staging_bucket or LOCAL_STAGING_BUCKET).rstrip("/"),
            submissions_per_minute=self.settings.requests_per_minute.submissions,
        )


def _locate(document: Document, defaults_document: Document | None, keys: KeyPath) -> Location:
    if (defaults_document is not None and keys and keys[0] not in document.data
            and ("defaults", keys[0]) in defaults_document.positions):
        return defaults_document.locate(("defaults", *keys))
    return document.locate(keys)


# The keys of an evaluable kind's spec (kinds/base.py, Evaluator) that another kind lacks.
EVALUATION_KEYS = ("evaluation", "promotion")


def _shown(value: Any) -> str:
    """The value that was given, short: a reader recognises it, a huge one does not flood."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _invalid(item: Any, keys: KeyPath) -> str:
    """A value of the wrong type or form: what the rule is, in words, and what was given."""
    given = item.get("input")
    if keys and keys[-1] == "[key]":  # a mapping's key, such as a label's
        keys = keys[:-1]
    key = ".".join(str(k) for k in keys)
    if item["type"] == "string_pattern_mismatch":
        pattern = item.get("ctx", {}).get("pattern", "")
        rule = PATTERN_RULES.get(pattern, f"a value matching {pattern}")
        return f"{key} must be {rule}, not {_shown(given)}"
    if item["type"] == "string_too_long" and isinstance(given, str):
        return f"{key}: {item['msg']}, not {len(given):,}"
    return f"{key}: {item['msg']}, not {_shown(given)}"


def _pydantic_problems(
    error: ValidationError, locate: Callable[[KeyPath], Location], fields: list[str], subject: str,
    kind: str = "",
) -> list[Problem]:
    problems = []
    for item in error.errors():
        keys: KeyPath = tuple(item["loc"])
        key = ".".join(str(k) for k in keys)
        if item["type"] == "extra_forbidden" and len(keys) == 1 and key in EVALUATION_KEYS:
            evaluable = ", ".join(name for name, known in KINDS.items() if known.evaluator)
            message = (f"'{key}': jobs of kind {kind} cannot be evaluated or promoted; "
                       f"kinds that can: {evaluable}")
        elif item["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(keys[-1]), fields, n=1)
            hint = (f"; did you mean '{close[0]}'?" if close
                    else f"; known keys: {', '.join(fields)}")
            message = f"unknown key '{key}'{hint}"
        elif item["type"] == "missing":
            message = f"missing required key '{key}'"
        else:
            message = _invalid(item, keys)
        problems.append(Problem(locate(keys), message, subject=subject))
    return problems


def _read_documents(root: Path, path: Path, shown: str) -> list[Document]:
    # A symlinked config file is read only if it stays inside the repository.
    _, refusal = repository_file(root, path.relative_to(root))
    if refusal and refusal.endswith("outside the repository"):
        raise YamlProblem(Problem(Location(shown), f"{refusal}; tuneops reads only files "
                                  "inside it"))
    return load_documents(read_yaml_text(path, shown), shown)


@dataclass
class _Settings:
    settings: Settings = field(default_factory=Settings)
    document: Document | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    read: bool = True


def _load_settings(root: Path, path: Path, shown: str) -> _Settings:
    if not path.exists() and not path.is_symlink():
        return _Settings(read=False)
    try:
        documents = _read_documents(root, path, shown)
    except YamlProblem as problem:
        return _Settings(errors=[problem.problem])
    if not documents:
        # An emptied file looks like a deliberate switch to the emulator, but rarely is one.
        return _Settings(warnings=[Problem(Location(shown), "the file is empty, so no project "
                                           "is set: the embedded emulator will be used")])
    if len(documents) > 1:
        return _Settings(errors=[Problem(documents[1].start, "settings are one YAML document; "
                                         "this second one would be ignored: put jobs in a "
                                         "file of their own")])
    document = documents[0]
    if not isinstance(document.data, dict):
        return _Settings(errors=[Problem(document.start, "settings must be a mapping")])
    try:
        settings = Settings.model_validate(document.data)
    except ValidationError as error:
        fields = list(Settings.model_fields)
        return _Settings(errors=_pydantic_problems(error, document.locate, fields, "settings"))
    known = {name for kind in KINDS.values() for name in kind.spec.model_fields}
    problems = [
        Problem(document.locate(("defaults", key)), f"'{key}' cannot have a default",
                subject="settings")
        for key in settings.defaults
        if key in ("name", KIND_KEY) or key not in known
    ]
    problems += [Problem(document.locate(("limits", where, kind)), why, subject="settings")
                 for where, limits in settings.limits.items() for kind in limits
                 if (why := limit_problem(where, kind))]
    return _Settings(settings, document, problems)


def _kind(document: Document, subject: str) -> tuple[Kind | None, list[Problem]]:
    name = document.data.get(KIND_KEY, DEFAULT_KIND)
    if isinstance(name, str) and name in KINDS:
        return KINDS[name], []
    close = difflib.get_close_matches(str(name), list(KINDS), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f"; known kinds: {', '.join(KINDS)}"
    return None, [Problem(document.locate((KIND_KEY,)), f"unknown kind {name!r}{hint}",
                          subject=subject)]


def _parse_job(
    document: Document, settings: Settings, defaults_document: Document | None
) -> tuple[JobConfig | None, list[Problem]]:
    if not isinstance(document.data, dict):
        return None, [Problem(document.start, "a job document must be a mapping of keys")]
    subject = str(document.data.get("name", ""))
    kind, problems = _kind(document, subject)
    if kind is None:
        return None, problems
    fields = kind.spec.model_fields
    # Defaults may name keys of other kinds: each job takes those its kind has.
    merged = {**{k: v for k, v in settings.defaults.items() if k in fields}, **document.data}
    try:
        spec = kind.spec.model_validate(merged)
    except ValidationError as error:
        def locate(keys: KeyPath) -> Location:
            return _locate(document, defaults_document, keys)

        return None, _pydantic_problems(error, locate, list(fields), subject, kind.name)
    job = JobConfig(kind, spec, document, defaults_document)
    return job, [Problem(job.locate(keys), message, subject=job.name)
                 for keys, message in [*kind.problems(spec), *_evaluation_problems(kind, spec)]]


def _evaluation_problems(kind: Kind, spec: Any) -> list[tuple[KeyPath, str]]:
    if kind.evaluator is None:
        return []
    evaluation, promotion = kind.evaluator.settings(spec)
    if promotion is not None and evaluation is None:
        return [(("promotion",), "promotion needs evaluation: a run is promoted by its score "
                 "on the evaluation dataset")]
    return []


def _config_dir(root: Path) -> Path:
    config_dir = root / CONFIG_DIR
    if not config_dir.is_dir():
        raise ConfigError([Problem(Location(str(config_dir)), "no configs/ directory here; "
                                   "run reconcile from a repository that has one")])
    return config_dir


def load_target(root: Path) -> Target:
    """Where jobs run, from configs/reconciler.yaml alone: what reading state needs, even
    while a job file is invalid."""
    settings_path = _config_dir(root) / SETTINGS_FILE
    loaded = _load_settings(root, settings_path, display_path(settings_path, root))
    if loaded.errors:
        raise ConfigError(loaded.errors)
    return RepoConfig(root, loaded.settings, ()).target


def load_config(root: Path) -> RepoConfig:
    """Every job under `configs/`, validated; raises ConfigError listing all problems."""
    config_dir = _config_dir(root)
    settings_path = config_dir / SETTINGS_FILE
    loaded = _load_settings(root, settings_path, display_path(settings_path, root))
    settings, defaults_document = loaded.settings, loaded.document
    problems, warnings = loaded.errors, loaded.warnings
    files = config_files(root, config_dir)
    problems += files.errors
    warnings += files.all_warnings()
    read = [display_path(settings_path, root)] if loaded.read else []
    jobs: list[JobConfig] = []
    for path in files.jobs:
        shown = display_path(path, root)
        read.append(shown)
        try:
            documents = _read_documents(root, path, shown)
        except YamlProblem as problem:
            problems.append(problem.problem)
            continue
        if not documents:
            # Nothing to launch may be a mistake (an emptied file, a lone `---`): say so.
            warnings.append(Problem(Location(shown), "no job in this file (it is empty or "
                                    "holds only comments and `---`)"))
        for document in documents:
            job, found = _parse_job(document, settings, defaults_document)
            problems.extend(found)
            if job is not None:
                jobs.append(job)
    problems.extend(_duplicate_names(jobs))
    problems.extend(_shared_channels(jobs))
    if problems:
        raise ConfigError(problems)
    if not jobs:
        # A bad merge or a wrong --root looks just like this: every managed job an orphan.
        warnings.append(Problem(Location(f"{CONFIG_DIR}/"), "0 jobs: no job is desired, so "
                                "every managed job is an orphan (apply --prune refuses to "
                                "delete them all without --allow-empty)"))
    return RepoConfig(root, settings, tuple(jobs), tuple(warnings), tuple(read))


def _duplicate_names(jobs: list[JobConfig]) -> list[Problem]:
    first: dict[str, JobConfig] = {}
    problems = []
    for job in jobs:
        earlier = first.setdefault(job.name, job)
        if earlier is not job:
            problems.append(Problem(job.locate(("name",)),
                                    f"name is already used at {earlier.locate(('name',))}; "
                                    "job names must be unique", subject=job.name))
    return problems


def _shared_channels(jobs: list[JobConfig]) -> list[Problem]:
    """A channel resolves to one job's best run: two jobs promoting to one would each undo
    the other's promotion."""
    first: dict[str, JobConfig] = {}
    problems = []
    for job in jobs:
        _, promotion = job.kind.evaluator.settings(job.spec) if job.kind.evaluator else (
            None, None)
        if promotion is None:
            continue
        earlier = first.setdefault(promotion.channel, job)
        if earlier is not job:
            where = earlier.locate(("promotion", "channel"))
            problems.append(Problem(job.locate(("promotion", "channel")),
                                    f"channel {promotion.channel} is already promoted to by "
                                    f"{earlier.name} at {where}; a channel belongs to one job",
                                    subject=job.name))
    return problems
