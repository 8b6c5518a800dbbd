"""Builds the desired state: validated configs with their datasets inspected and fingerprinted."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from reconciler.core.desired import (
    GCS_SCHEME,
    Dataset,
    Desired,
    DesiredJob,
    Evaluation,
    Promotion,
    Role,
    gcs_object_problem,
)
from reconciler.core.fingerprint import fingerprint
from reconciler.errors import ConfigError, Location, Problem, display_path
from reconciler.kinds.base import DatasetField, DatasetFormat
from reconciler.load.config import JobConfig, RepoConfig
from reconciler.load.datacache import DatasetCache
from reconciler.load.datasets import DatasetReport, inspect_dataset, leakage, remote_hash
from reconciler.load.examplekeys import ExampleKeys
from reconciler.load.files import repository_file
from reconciler.load.writes import scratch

# A file that changes while it is read is read again, this many times at most.
READ_ATTEMPTS = 3


class RemoteDatasets(Protocol):
    """Cloud Storage as dataset loading needs it (reconciler.edges.storage.Storage)."""

    def version(self, uri: str) -> str | None:
        """A token that changes whenever the object's content does; None if it is missing."""

    def download(self, uri: str, destination: Path) -> None: ...


@dataclass
class _Loader:
    root: Path
    cache: DatasetCache
    remote: RemoteDatasets | None
    deep: bool
    bytes_read: int = 0
    records: dict[str, ExampleKeys] = field(default_factory=dict)
    # Each repository dataset a build names, decided once however many jobs name it: why it
    # may not be read ("" if it may) and its report.
    decided: dict[tuple[str, DatasetFormat, Role], tuple[str, DatasetReport | None]] = field(
        default_factory=dict)

    def local(self, path: Path, shown: str, uri: str, fmt: DatasetFormat, role: Role
              ) -> DatasetReport:
        key = self.cache.key(path, fmt.name, role)
        cached = self.cache.get(key, path, uri, role)
        low, high = fmt.examples
        # A count valid when cached may not be valid now (a format's limits change): read
        # the file again, which reports it.
        if cached is not None and cached.info is not None and (
                low <= (cached.info.examples or 0) <= high):
            return cached
        self.cache.before_reading()
        for _ in range(READ_ATTEMPTS):
            report = inspect_dataset(path, shown, uri, fmt, role)
            self.bytes_read += report.bytes_read
            if report.identity is not None:
                break
        else:
            # What was read is no one version of the file: its hash would describe nothing.
            return DatasetReport(None, errors=[Problem(Location(shown), "changed while it "
                                 f"was being read, {READ_ATTEMPTS} times; run again once "
                                 "nothing writes it")])
        self.cache.put(key, report)
        if report.records is not None and report.info is not None:
            self.records[report.info.content_hash] = report.records
        return report

    def remote_dataset(self, job: JobConfig, wanted: DatasetField, fmt: DatasetFormat
                       ) -> DatasetReport:
        uri, role = wanted.uri, wanted.role
        if why := gcs_object_problem(uri):
            return DatasetReport(None, errors=[Problem(job.locate(_keys(wanted)),
                                                       f"{wanted.key}: {uri}: {why}",
                                                       subject=job.name)])
        if self.remote is None:
            # `validate` works offline: gs:// objects are checked when planning.
            return DatasetReport(Dataset(uri, role, "", None))
        version = self.remote.version(uri)
        if version is None:
            return DatasetReport(None, errors=[Problem(
                job.locate(_keys(wanted)), f"{wanted.key}: no such object {uri}",
                subject=job.name)])
        content_hash = remote_hash(uri, version)
        if not self.deep:
            return DatasetReport(Dataset(uri, role, content_hash, None))
        with scratch() as directory:
            copy = directory / "dataset.jsonl"
            self.remote.download(uri, copy)
            report = inspect_dataset(copy, uri, uri, fmt, role)
        self.bytes_read += report.bytes_read
        if report.info is not None:
            report.info = replace(report.info, content_hash=content_hash)
        return report

    def dataset(self, job: JobConfig, wanted: DatasetField) -> DatasetReport:
        """The one place a dataset is decided to be a gs:// object or a repository file."""
        fmt = job.kind.dataset_format(job.spec, wanted.role)
        if wanted.uri.startswith(GCS_SCHEME):
            return self.remote_dataset(job, wanted, fmt)
        refusal, report = self.repository_dataset(wanted.uri, fmt, wanted.role)
        if report is None:
            # A dataset must be a file inside the repository, or a gs:// URI.
            hint = ("; a dataset must be a file inside it or a gs:// URI"
                    if refusal.endswith("outside the repository") else "")
            problem = Problem(job.locate(_keys(wanted)), f"{wanted.key}: {refusal}{hint}",
                              subject=job.name)
            return DatasetReport(None, errors=[problem])
        return report

    def repository_dataset(self, uri: str, fmt: DatasetFormat, role: Role
                           ) -> tuple[str, DatasetReport | None]:
        """Why the repository file `uri` may not be read, or its report (None if refused)."""
        key = (uri, fmt, role)
        if key not in self.decided:
            path, refusal = repository_file(self.root, uri)
            report = None
            if not refusal:
                shown = display_path(path, self.root.resolve())
                report = self.local(path, shown, uri, fmt, role)
                if report.info is not None:
                    report.info = replace(report.info, path=shown)
            self.decided[key] = (refusal, report)
        return self.decided[key]

    def leakage(self, job: JobConfig, training: Dataset, evaluation: Dataset
                ) -> list[Problem]:
        if training.path is None or evaluation.path is None:
            return []
        found = self.cache.get_leakage(training.content_hash, evaluation.content_hash)
        if found is not None:
            return found
        found = leakage(self._records(job, training), self._records(job, evaluation),
                        evaluation.path)
        self.cache.put_leakage(training.content_hash, evaluation.content_hash, found)
        return found

    def _records(self, job: JobConfig, dataset: Dataset) -> ExampleKeys:
        assert dataset.path is not None
        if dataset.content_hash not in self.records:
            # Cached reports carry no per-record digests: read the file once more.
            fmt = job.kind.dataset_format(job.spec, dataset.role)
            report = inspect_dataset(self.root / dataset.path, dataset.path, dataset.uri, fmt,
                                     dataset.role)
            self.bytes_read += report.bytes_read
            self.records[dataset.content_hash] = report.records or ExampleKeys()
        return self.records[dataset.content_hash]


def _keys(wanted: DatasetField) -> tuple[str, ...]:
    """Where a dataset's key is in the job document (`evaluation.dataset_uri` nests)."""
    return tuple(wanted.key.split("."))


def _evaluation(job: JobConfig, loader: _Loader, training: Dataset | None
                ) -> tuple[Evaluation | None, list[Problem], list[Problem]]:
    """The job's `evaluation:`, its dataset read like any other (the same formats, cache and
    file gate); it is metadata: its hash keys scores, never the fingerprint."""
    evaluator = job.kind.evaluator
    asked, promotion = evaluator.settings(job.spec) if evaluator else (None, None)
    if asked is None:
        return None, [], []
    report = loader.dataset(job, DatasetField("evaluation.dataset_uri", "evaluation",
                                              asked.dataset_uri))
    if report.info is None:
        return None, report.errors, report.warnings
    warnings = list(report.warnings)
    if training is not None:
        warnings += loader.leakage(job, training, report.info)
    rule = None if promotion is None else Promotion(
        promotion.channel, promotion.min_score, promotion.must_beat_current)
    return Evaluation(report.info, asked.metric, rule), report.errors, warnings


def _desired_job(job: JobConfig, loader: _Loader
                 ) -> tuple[DesiredJob | None, list[Problem], list[Problem]]:
    kind, spec = job.kind, job.spec
    errors: list[Problem] = []
    warnings: list[Problem] = []
    datasets: dict[Role, Dataset] = {}
    wanted = kind.datasets(spec)
    for field_ in wanted:
        report = loader.dataset(job, field_)
        errors += report.errors
        warnings += report.warnings
        if report.info is not None:
            datasets[field_.role] = report.info
    evaluation, found_errors, found_warnings = _evaluation(job, loader, datasets.get("training"))
    errors += found_errors
    warnings += found_warnings
    if len(datasets) < len(wanted) or found_errors:
        return None, errors, warnings
    if "evaluation" in datasets:
        warnings += loader.leakage(job, datasets["training"], datasets["evaluation"])
    warnings += [Problem(job.locate(keys), message, subject=job.name)
                 for keys, message in kind.warnings(spec, datasets)]
    inputs = kind.weight_inputs(spec, datasets)
    desired = DesiredJob(
        name=job.name,
        kind=kind.name,
        source=str(job.location),
        location=kind.location(spec),
        inputs=inputs,
        metadata=kind.metadata(spec),
        fingerprint=fingerprint(inputs),
        datasets=tuple(datasets[f.role] for f in wanted),
        spec=spec,
        evaluation=evaluation,
    )
    return desired, errors, warnings


def build_desired(config: RepoConfig, remote: RemoteDatasets | None = None, *,
                  deep: bool = False, use_cache: bool = True) -> Desired:
    """Inspects every dataset; raises ConfigError with all dataset problems at once.

    Without `remote`, gs:// datasets are not checked (no network); with `deep`, they are
    downloaded and validated like local ones.
    """
    cache = DatasetCache(config.root if use_cache else None)
    loader = _Loader(config.root, cache, remote, deep)
    jobs, errors = [], []
    # A dataset shared by several jobs warns once: an insertion-ordered set.
    warnings: dict[Problem, None] = dict.fromkeys(config.warnings)
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
        prices=dict(config.settings.prices),
        prediction_prices=dict(config.settings.prediction_prices),
        budget=config.settings.budget,
        limits={location: {str(kind): count for kind, count in kinds.items()}
                for location, kinds in config.settings.limits.items()},
        warnings=tuple(warnings),
        bytes_read=loader.bytes_read,
        files=(*config.files, *sorted({d.path for job in jobs for d in _datasets(job)
                                       if d.path is not None})),
    )


def _datasets(job: DesiredJob) -> tuple[Dataset, ...]:
    """Every dataset a job reads: its training data and, where it has one, its evaluation
    dataset."""
    return (*job.datasets, *(() if job.evaluation is None else (job.evaluation.dataset,)))
