"""The tuning-job kind on Vertex AI: GenAiTuningService through its GAPIC client.

CreateTuningJobRequest has only `parent` and `tuning_job`: the service picks the id, so a
retry or a racing apply could launch a twin. Exactly once therefore rests on a lease, an
object `{staging}/leases/{name}-{fingerprint}` created only if absent (Cloud Storage's
ifGenerationMatch=0): the apply that creates it launches the job and records the job's name
in it; any other finds that job (listing by its labels, or reading the lease) and adopts it.
A lease whose holder died before launching (older than LEASE_SECONDS, and no job carries
its fingerprint) is taken over by a write conditioned on its generation.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from reconciler.backends.adapter import AdapterKind, Context, Leases
from reconciler.backends.calls import (
    Caller,
    Created,
    check_adoptable,
    is_quota,
    is_too_large,
    observed_job,
    retry_policy,
    transient_errors,
)
from reconciler.core import labels as managed
from reconciler.core.observed import JobState, ObservedJob, RunOutputs
from reconciler.core.resources import location_of
from reconciler.errors import BackendError, QuotaExceeded
from reconciler.kinds.base import LaunchRequest
from reconciler.kinds.tuning_api import ATTEMPT
from reconciler.kinds.tuning_job import (
    KIND,
    TUNING_JOB,
    TuningJobLaunch,
    observed_inputs,
    observed_metadata,
)

PAGE_SIZE = 100
COLLECTION = "tuningJobs"
# A TuningJob's JobState (the same enum in aiplatform_v1 and v1beta1), as planning sees it.
STATES = {
    "JOB_STATE_QUEUED": JobState.PENDING,
    "JOB_STATE_PENDING": JobState.PENDING,
    "JOB_STATE_RUNNING": JobState.RUNNING,
    "JOB_STATE_PAUSED": JobState.RUNNING,
    "JOB_STATE_UPDATING": JobState.RUNNING,
    "JOB_STATE_SUCCEEDED": JobState.SUCCEEDED,
    "JOB_STATE_PARTIALLY_SUCCEEDED": JobState.FAILED,
    "JOB_STATE_FAILED": JobState.FAILED,
    "JOB_STATE_EXPIRED": JobState.FAILED,
    "JOB_STATE_CANCELLING": JobState.CANCELLING,
    "JOB_STATE_CANCELLED": JobState.CANCELLED,
}
LEASE_SECONDS_ENV = "TUNEOPS_LEASE_SECONDS"
# How long a lease whose job never appeared is honoured: far longer than any create takes.
DEFAULT_LEASE_SECONDS = 300.0
LEASE_WAIT_ENV = "TUNEOPS_LEASE_WAIT_SECONDS"
# How long an apply that lost the race waits for the winner's job to appear.
DEFAULT_LEASE_WAIT_SECONDS = 60.0
CREATE_ATTEMPTS = 6


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError:
        raise BackendError(f"{name}={raw!r} is not a number of seconds") from None


def state_of(job: Any) -> JobState:
    return STATES.get(job.state.name, JobState.PENDING)


def job_from_proto(job: Any) -> ObservedJob:
    labels = dict(job.labels)
    hyper = job.supervised_tuning_spec.hyper_parameters
    return observed_job(
        job, kind=KIND, state=state_of(job),
        inputs=observed_inputs(
            base_model=job.base_model, location=location_of(job.name),
            hyper_parameters={"epoch_count": hyper.epoch_count,
                              "learning_rate_multiplier": hyper.learning_rate_multiplier,
                              "adapter_size": hyper.adapter_size.name},
            kms_key_name=job.encryption_spec.kms_key_name, labels=labels),
        metadata=observed_metadata(job.tuned_model_display_name, labels))


def tuning_job(launch: TuningJobLaunch) -> dict[str, Any]:
    """The TuningJob of a CreateTuningJobRequest, as the GAPIC client takes it."""
    hyper: dict[str, Any] = {key: value for key, value in (
        ("epoch_count", launch.epoch_count),
        ("learning_rate_multiplier", launch.learning_rate_multiplier),
        ("adapter_size", launch.adapter_size)) if value is not None}
    spec: dict[str, Any] = {"training_dataset_uri": launch.training_dataset_uri,
                            "hyper_parameters": hyper}
    if launch.validation_dataset_uri is not None:
        spec["validation_dataset_uri"] = launch.validation_dataset_uri
    if launch.export_last_checkpoint_only is not None:
        spec["export_last_checkpoint_only"] = launch.export_last_checkpoint_only
    job: dict[str, Any] = {
        "base_model": launch.base_model,
        "supervised_tuning_spec": spec,
        "tuned_model_display_name": launch.tuned_model_display_name,
        "description": launch.description,
        "labels": launch.labels,
    }
    if launch.kms_key_name:
        job["encryption_spec"] = {"kms_key_name": launch.kms_key_name}
    if launch.service_account:
        job["service_account"] = launch.service_account
    return job


class LeasedLaunch(LaunchRequest, Protocol):
    """A launch of a job the service names: until it does, the lease stands for the job."""

    @property
    def lease(self) -> str: ...


L = TypeVar("L", bound=LeasedLaunch)


class TuningJobs(Generic[L]):
    """Tuning jobs of one kind in one project, with one client per tuning location.

    A kind of TuningJob brings how it reads a job (`read`) and the TuningJob its launch
    creates (`request`); listing, leasing, creating exactly once, reading and cancelling are
    the same for every kind.
    """

    def __init__(self, caller: Caller, clients: dict[str, Any], leases: Leases,
                 lease_prefix: str, *, read: Callable[[Any], ObservedJob],
                 request: Callable[[L], dict[str, Any]],
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._call = caller
        self._clients = clients
        self._leases = leases
        self._prefix = lease_prefix
        self._read = read
        self._request = request
        self._sleep = sleep
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def _parent(self, location: str) -> str:
        return f"projects/{self._call.project}/locations/{location}"

    def _list(self, location: str, filter_: str) -> list[ObservedJob]:
        request = {"parent": self._parent(location), "filter": filter_,
                   "page_size": PAGE_SIZE}
        return self._call.list(f"listing tuning jobs in {location}",
                               self._clients[location].list_tuning_jobs, request,
                               self._read)

    def list(self) -> list[ObservedJob]:
        return [job for location in self._clients
                for job in self._list(location, managed.MANAGED_FILTER)]

    def _launched(self, launch: L) -> ObservedJob | None:
        """The job of this fingerprint and attempt, if any apply launched it."""
        wanted = {managed.FINGERPRINT: launch.labels[managed.FINGERPRINT],
                  ATTEMPT: launch.labels[ATTEMPT]}
        filter_ = " AND ".join([managed.MANAGED_FILTER,
                                *(f'labels.{k}="{v}"' for k, v in wanted.items())])
        found = self._list(launch.location, filter_)
        return min(found, key=lambda job: (job.create_time, job.job_id)) if found else None

    def create(self, launch: L) -> tuple[Created, ObservedJob]:
        existing = self._launched(launch)
        if existing is not None:
            check_adoptable(existing, launch.labels)
            return Created.ADOPTED, existing
        uri = f"{self._prefix}/{launch.lease}"
        generation = self._take_lease(uri, launch)
        if isinstance(generation, ObservedJob):
            check_adoptable(generation, launch.labels)
            return Created.ADOPTED, generation
        # Holding the lease: a holder before us may still have launched it.
        existing = self._launched(launch)
        if existing is not None:
            return Created.ADOPTED, existing
        job = self._create_once(launch)
        self._leases.write_if(uri, self._lease_body(job.resource), generation)
        return Created.LAUNCHED, job

    def _lease_body(self, job: str = "") -> dict[str, Any]:
        return {"holder": self._holder, "since": time.time(), "job": job}

    def _take_lease(self, uri: str, launch: L) -> int | ObservedJob:
        """The lease's generation once held, or the job another apply launched under it."""
        deadline = time.monotonic() + _seconds(LEASE_WAIT_ENV, DEFAULT_LEASE_WAIT_SECONDS)
        stale_after = _seconds(LEASE_SECONDS_ENV, DEFAULT_LEASE_SECONDS)
        delay = 0.2
        while True:
            generation = self._leases.write_if(uri, self._lease_body(), 0)
            if generation is not None:
                return generation
            lease = self._leases.read_lease(uri)
            if lease is None:
                continue  # released between our two calls: try to take it again
            if lease.body.get("job"):
                return self.get(str(lease.body["job"]))
            found = self._launched(launch)
            if found is not None:
                return found
            since = float(lease.body.get("since", 0))
            if time.time() - since > stale_after:
                # Its holder died between lease and create: take the lease over, once.
                taken = self._leases.write_if(uri, self._lease_body(), lease.generation)
                if taken is not None:
                    return taken
                continue
            if time.monotonic() > deadline:
                raise BackendError(f"{launch.lease}: another apply ({lease.body.get('holder')}) "
                                   "holds the launch lease and has not launched yet; run "
                                   "apply again later")
            self._sleep(delay)  # the holder is creating the job: look again shortly
            delay = min(delay * 2, 5.0)

    def _create_once(self, launch: L) -> ObservedJob:
        """Creates the job; before any retry, looks for it: a lost response still created it."""
        from google.api_core import exceptions  # noqa: PLC0415

        client = self._clients[launch.location]
        request = {"parent": self._parent(launch.location),
                   "tuning_job": self._request(launch)}
        transient = transient_errors()
        delay = 0.2
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                return self._read(client.create_tuning_job(request=request, retry=None))
            except transient as error:
                if is_quota(error):
                    raise QuotaExceeded(f"creating {launch.lease}: {error.message}") from None
                if attempt == CREATE_ATTEMPTS or is_too_large(error):
                    raise BackendError(f"creating {launch.lease}: {error.message}") from None
            except exceptions.GoogleAPICallError as error:
                raise BackendError(f"creating {launch.lease}: {error.message}") from None
            found = self._launched(launch)
            if found is not None:
                return found
            self._sleep(delay)
            delay = min(delay * 2, 5.0)
        raise BackendError(f"creating {launch.lease}: no attempt was made")

    def get(self, resource: str) -> ObservedJob:
        client = self._clients[location_of(resource)]
        return self._read(self._call(f"reading {resource}", lambda: client.get_tuning_job(
            name=resource, retry=retry_policy())))

    def outputs(self, resource: str) -> RunOutputs:
        client = self._clients[location_of(resource)]
        job = self._call(f"reading {resource}", lambda: client.get_tuning_job(
            name=resource, retry=retry_policy()))
        return RunOutputs(model=job.tuned_model.model or None,
                          endpoint=job.tuned_model.endpoint or None)

    def cancel(self, resource: str) -> None:
        client = self._clients[location_of(resource)]
        self._call(f"cancelling {resource}", lambda: client.cancel_tuning_job(
            name=resource, retry=retry_policy()))


def _adapter(context: Context, clients: dict[str, Any]) -> TuningJobs[TuningJobLaunch]:
    return TuningJobs(context.caller, clients, context.leases, context.lease_prefix,
                      read=job_from_proto, request=tuning_job)


ADAPTER = AdapterKind(TUNING_JOB, service="GenAiTuning", collection=COLLECTION, make=_adapter)
