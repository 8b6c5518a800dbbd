"""The desired state: validated configs with their datasets inspected and fingerprinted."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from reconciler.core import fingerprint as fp
from reconciler.errors import ConfigError, Problem, display_path
from reconciler.load.config import GCS_SCHEME, JobConfig, RepoConfig, Target
from reconciler.load.datacache import DatasetCache
from reconciler.load.datasets import (
    HASH_LENGTH,
    DatasetInfo,
    DatasetReport,
    Role,
    inspect_dataset,
    leakage,
)
from reconciler.reference import BATCH_SIZE, RECOMMENDED_TRAIN_STEPS

STATE_DIR = ".reconciler"
# More passes than this over the same examples mostly memorises them.
MAX_SENSIBLE_EPOCHS = 50


class RemoteDatasets(Protocol):
    """Cloud Storage as dataset loading needs it (reconciler.storage.Storage)."""

    def version(self, uri: str) -> str | None:
        """A token that changes whenever the object's content does; None if it is missing."""

    def download(self, uri: str, destination: Path) -> None: ...


@dataclass(frozen=True)
class DesiredJob:
    name: str
    source: str
    task: str
    tuning_location: str
    inputs: dict[str, Any]
    metadata: dict[str, Any]
    fingerprint: str
    tensorboard_resource_id: str | None
    dataset: DatasetInfo
    evaluation: DatasetInfo | None
    # Repository paths of local datasets, uploaded content-addressed before launch.
    dataset_path: str | None
    evaluation_path: str | None


@dataclass(frozen=True)
class Desired:
    target: Target
    cancel_superseded: bool
    jobs: tuple[DesiredJob, ...]
    warnings: tuple[Problem, ...] = ()
    # Dataset bytes read to build this state: 0 when every dataset came from the cache.
    bytes_read: int = 0


@dataclass
class _Loader:
    root: Path
    cache: DatasetCache
    remote: RemoteDatasets | None
    deep: bool
    bytes_read: int = 0
    records: dict[str, dict[bytes, int]] = field(default_factory=dict)

    def local(self, path: Path, shown: str, uri: str, task: str, role: Role) -> DatasetReport:
        key = self.cache.key(path, task, role)
        cached = self.cache.get(key, uri)
        if cached is not None:
            return cached
        report = inspect_dataset(path, shown, uri, task, role)
        self.bytes_read += report.bytes_read
        self.cache.put(key, report)
        if report.records is not None and report.info is not None:
            self.records[report.info.content_hash] = report.records
        return report

    def remote_dataset(self, job: JobConfig, key: str, uri: str, role: Role) -> DatasetReport:
        if self.remote is None:
            # `validate` works offline: gs:// objects are checked when planning.
            return DatasetReport(DatasetInfo(uri, "", None))
        location = job.locate((key,))
        version = self.remote.version(uri)
        if version is None:
            return DatasetReport(None, errors=[Problem(location, f"{key}: no such object "
                                                       f"{uri}", subject=job.spec.name)])
        content_hash = hashlib.sha256(f"{uri}#{version}".encode()).hexdigest()[:HASH_LENGTH]
        if not self.deep:
            return DatasetReport(DatasetInfo(uri, content_hash, None))
        with tempfile.TemporaryDirectory() as directory:
            copy = Path(directory) / "dataset.jsonl"
            self.remote.download(uri, copy)
            report = inspect_dataset(copy, uri, uri, job.spec.task, role)
        self.bytes_read += report.bytes_read
        if report.info is not None:
            report.info = DatasetInfo(uri, content_hash, report.info.examples)
        return report

    def dataset(self, job: JobConfig, key: str, uri: str, role: Role
                ) -> tuple[DatasetReport, str | None]:
        if uri.startswith(GCS_SCHEME):
            return self.remote_dataset(job, key, uri, role), None
        path = (self.root / uri).resolve()
        if not path.is_file():
            problem = Problem(job.locate((key,)), f"{key}: no such file {uri}",
                              subject=job.spec.name)
            return DatasetReport(None, errors=[problem]), None
        shown = display_path(path, self.root.resolve())
        return self.local(path, shown, uri, job.spec.task, role), shown

    def leakage(self, job: JobConfig, training: DatasetInfo, training_path: str | None,
                evaluation: DatasetInfo, evaluation_path: str | None) -> list[Problem]:
        if training_path is None or evaluation_path is None:
            return []
        found = self.cache.get_leakage(training.content_hash, evaluation.content_hash)
        if found is not None:
            return found
        found = leakage(self._records(job, training, training_path, "training"),
                        self._records(job, evaluation, evaluation_path, "evaluation"),
                        evaluation_path)
        self.cache.put_leakage(training.content_hash, evaluation.content_hash, found)
        return found

    def _records(self, job: JobConfig, info: DatasetInfo, shown: str, role: Role
                 ) -> dict[bytes, int]:
        if info.content_hash not in self.records:
            # Cached reports carry no per-record digests: read the file once more.
            report = inspect_dataset(self.root / shown, shown, info.uri, job.spec.task, role)
            self.bytes_read += report.bytes_read
            self.records[info.content_hash] = report.records or {}
        return self.records[info.content_hash]


def _epoch_warnings(job: JobConfig, examples: int | None) -> list[Problem]:
    spec = job.spec
    location = job.locate(("train_steps",))
    warnings = []
    low, high = RECOMMENDED_TRAIN_STEPS
    if not low <= spec.train_steps <= high:
        warnings.append(Problem(location, f"train_steps {spec.train_steps} is outside the "
                                f"recommended {low}..{high}", subject=spec.name))
    if not examples:
        return warnings
    batch = BATCH_SIZE[spec.tuning_location]
    epochs = spec.train_steps * batch / examples
    estimate = (f"{spec.train_steps} steps x batch {batch} ({spec.tuning_location}) / "
                f"{examples} examples = {epochs:.2f} epochs")
    if epochs < 1:
        warnings.append(Problem(location, f"{estimate}: the dataset is not seen even once",
                                subject=spec.name))
    elif epochs > MAX_SENSIBLE_EPOCHS:
        warnings.append(Problem(location, f"{estimate}: likely to overfit",
                                subject=spec.name))
    return warnings


def _desired_job(job: JobConfig, loader: _Loader
                 ) -> tuple[DesiredJob | None, list[Problem], list[Problem]]:
    spec = job.spec
    training, dataset_path = loader.dataset(job, "dataset_uri", spec.dataset_uri, "training")
    errors, warnings = list(training.errors), list(training.warnings)
    evaluation, evaluation_path = None, None
    if spec.evaluation_data_uri is not None:
        report, evaluation_path = loader.dataset(job, "evaluation_data_uri",
                                                 spec.evaluation_data_uri, "evaluation")
        errors += report.errors
        warnings += report.warnings
        evaluation = report.info
    if training.info is None or (spec.evaluation_data_uri is not None and evaluation is None):
        return None, errors, warnings
    if evaluation is not None:
        warnings += loader.leakage(job, training.info, dataset_path, evaluation,
                                   evaluation_path)
    warnings += _epoch_warnings(job, training.info.examples)
    inputs = fp.weight_inputs(spec, training.info, evaluation)
    desired = DesiredJob(
        name=spec.name,
        source=str(job.location),
        task=spec.task,
        tuning_location=spec.tuning_location,
        inputs=inputs,
        metadata=fp.metadata(spec),
        fingerprint=fp.fingerprint(inputs),
        tensorboard_resource_id=spec.tensorboard_resource_id,
        dataset=training.info,
        evaluation=evaluation,
        dataset_path=dataset_path,
        evaluation_path=evaluation_path,
    )
    return desired, errors, warnings


def build_desired(config: RepoConfig, remote: RemoteDatasets | None = None, *,
                  deep: bool = False, use_cache: bool = True) -> Desired:
    """Inspects every dataset; raises ConfigError with all dataset problems at once.

    Without `remote`, gs:// datasets are not checked (no network); with `deep`, they are
    downloaded and validated like local ones.
    """
    cache = DatasetCache(config.root / STATE_DIR if use_cache else None)
    loader = _Loader(config.root, cache, remote, deep)
    jobs, errors = [], []
    # A dataset shared by several jobs warns once: an insertion-ordered set.
    warnings: dict[Problem, None] = {}
    for job in config.jobs:
        desired, found_errors, found_warnings = _desired_job(job, loader)
        errors += found_errors
        warnings.update(dict.fromkeys(found_warnings))
        if desired is not None:
            jobs.append(desired)
    cache.save()
    if errors:
        raise ConfigError(errors)
    return Desired(
        target=config.target,
        cancel_superseded=config.settings.cancel_superseded,
        jobs=tuple(jobs),
        warnings=tuple(warnings),
        bytes_read=loader.bytes_read,
    )
