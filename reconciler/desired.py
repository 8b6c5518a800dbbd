"""The desired state: validated configs with their datasets inspected and fingerprinted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler import fingerprint as fp
from reconciler.config import JobConfig, RepoConfig, Target, load_config
from reconciler.datasets import DatasetInfo, DatasetReport, Role, inspect_dataset
from reconciler.errors import ConfigError, Problem, display_path
from reconciler.reference import BATCH_SIZE, RECOMMENDED_TRAIN_STEPS

GCS_SCHEME = "gs://"


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


def _inspect(job: JobConfig, root: Path, key: str, uri: str, role: Role
             ) -> tuple[DatasetReport, str | None]:
    location = job.locate((key,))
    subject = job.spec.name
    if uri.startswith(GCS_SCHEME):
        problem = Problem(location, f"{key}: gs:// datasets are not supported yet; "
                          "commit the file and give its repository path", subject=subject)
        return DatasetReport(None, errors=[problem]), None
    path = (root / uri).resolve()
    if not path.is_file():
        problem = Problem(location, f"{key}: no such file {uri}", subject=subject)
        return DatasetReport(None, errors=[problem]), None
    shown = display_path(path, root.resolve())
    return inspect_dataset(path, shown, uri, job.spec.task, role), shown


def _epoch_warnings(job: JobConfig, examples: int) -> list[Problem]:
    spec = job.spec
    warnings = []
    low, high = RECOMMENDED_TRAIN_STEPS
    if not low <= spec.train_steps <= high:
        warnings.append(Problem(job.locate(("train_steps",)), f"train_steps {spec.train_steps} "
                                f"is outside the recommended {low}..{high}", subject=spec.name))
    epochs = spec.train_steps * BATCH_SIZE[spec.tuning_location] / examples
    if epochs < 1:
        warnings.append(Problem(job.locate(("train_steps",)), f"{epochs:.2f} epochs: "
                                "the dataset is not seen even once", subject=spec.name))
    return warnings


def _desired_job(job: JobConfig, root: Path) -> tuple[DesiredJob | None, list[Problem],
                                                       list[Problem]]:
    spec = job.spec
    training, dataset_path = _inspect(job, root, "dataset_uri", spec.dataset_uri, "training")
    errors, warnings = list(training.errors), list(training.warnings)
    evaluation, evaluation_path = None, None
    if spec.evaluation_data_uri is not None:
        report, evaluation_path = _inspect(job, root, "evaluation_data_uri",
                                           spec.evaluation_data_uri, "evaluation")
        errors += report.errors
        warnings += report.warnings
        evaluation = report.info
        if evaluation is None:
            return None, errors, warnings
    if training.info is None:
        return None, errors, warnings
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


def build_desired(config: RepoConfig) -> Desired:
    """Inspects every dataset; raises ConfigError with all dataset problems at once."""
    jobs, errors, warnings = [], [], []
    for job in config.jobs:
        desired, found_errors, found_warnings = _desired_job(job, config.root)
        errors += found_errors
        warnings += found_warnings
        if desired is not None:
            jobs.append(desired)
    if errors:
        raise ConfigError(errors)
    return Desired(
        target=config.target,
        cancel_superseded=config.settings.cancel_superseded,
        jobs=tuple(jobs),
        warnings=tuple(warnings),
    )


def load_desired(root: Path) -> Desired:
    return build_desired(load_config(root))
