"""The open-model kind on Vertex AI: GenAiTuningService through its aiplatform_v1beta1 client.

Only v1beta1 has the open-model fields (custom_base_model, output_uri, tuning_mode,
learning_rate, batch_size). Like Gemini's, CreateTuningJobRequest has only `parent` and
`tuning_job`: the service names the job, so creating exactly once is the Gemini kind's lease
path (backends/tuning_job.py TuningJobs), given this kind's request and its reading of a job.
Both kinds' jobs are one collection (`tuningJobs`): each reads the other's too, and the job
is the kind whose reading gives back its fingerprint (backends/vertex.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reconciler.backends.adapter import AdapterKind, Context
from reconciler.backends.calls import observed_job
from reconciler.backends.tuning_job import COLLECTION, TuningJobs, outputs_of, state_of
from reconciler.core.observed import ObservedJob
from reconciler.core.resources import location_of
from reconciler.kinds.open_model import (
    KIND,
    OPEN_MODEL,
    OpenModelLaunch,
    observed_inputs,
)
from reconciler.kinds.tuning_api import observed_metadata

API = "aiplatform_v1beta1"


def job_from_proto(job: Any) -> ObservedJob:
    """A v1beta1 TuningJob as this kind reads it (a Gemini job too: its reading just does not
    give back the job's fingerprint)."""
    labels = dict(job.labels)
    spec = job.supervised_tuning_spec
    hyper = spec.hyper_parameters
    found = observed_job(
        job, kind=KIND, state=state_of(job), labels=labels,
        inputs=observed_inputs(
            base_model=job.base_model, custom_base_model=job.custom_base_model,
            location=location_of(job.name), tuning_mode=spec.tuning_mode.name,
            hyper_parameters={"epoch_count": hyper.epoch_count,
                              "learning_rate": hyper.learning_rate,
                              "adapter_size": hyper.adapter_size.name,
                              "batch_size": hyper.batch_size},
            labels=labels),
        metadata=observed_metadata(job.tuned_model_display_name, labels))
    # The same TunedModel as Gemini's: its Model and endpoint are the run's own.
    return replace(found, outputs=outputs_of(job))


def tuning_job(launch: OpenModelLaunch) -> dict[str, Any]:
    """The v1beta1 TuningJob of a CreateTuningJobRequest, as the GAPIC client takes it."""
    hyper: dict[str, Any] = {key: value for key, value in (
        ("epoch_count", launch.epoch_count),
        ("learning_rate", launch.learning_rate),
        ("adapter_size", launch.adapter_size),
        ("batch_size", launch.batch_size)) if value is not None}
    spec: dict[str, Any] = {"training_dataset_uri": launch.training_dataset_uri,
                            "tuning_mode": launch.tuning_mode,
                            "hyper_parameters": hyper}
    if launch.validation_dataset_uri is not None:
        spec["validation_dataset_uri"] = launch.validation_dataset_uri
    job: dict[str, Any] = {
        "base_model": launch.base_model,
        "supervised_tuning_spec": spec,
        "output_uri": launch.output_uri,
        "tuned_model_display_name": launch.tuned_model_display_name,
        "description": launch.description,
        "labels": launch.labels,
    }
    if launch.custom_base_model:
        job["custom_base_model"] = launch.custom_base_model
    return job


def _adapter(context: Context, clients: dict[str, Any]) -> TuningJobs[OpenModelLaunch]:
    # The one place this kind couples to the lease path: compose it, never copy it.
    return TuningJobs(context.caller, clients, context.leases, read=job_from_proto,
                      request=tuning_job, api=API)


ADAPTER = AdapterKind(OPEN_MODEL, service="GenAiTuning", collection=COLLECTION, make=_adapter,
                      api=API)
