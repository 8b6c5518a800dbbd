"""The tuning-job kind on Vertex AI: GenAiTuningService through its GAPIC client.

CreateTuningJobRequest has only `parent` and `tuning_job`: the service picks the id, so a
retry or a racing apply could launch a twin. Exactly once therefore rests on three things:
a lookup by the run's labels (name, fingerprint, attempt) before every create and every
retry of one; a launch lease (leases.py) that one apply holds, renews and re-checks while it
creates; and, since a twin can never be ruled out, a look for an older twin after each
create, cancelling ours at once if there is one. Whether a list right after a create shows
the new job is undocumented, so a create whose reply was lost is looked for, in the lease
and by its labels, until TUNEOPS_LIST_SETTLE_SECONDS have passed before it is made again.

That path is the same for every kind whose jobs are TuningJobs (Gemini's through
aiplatform_v1, open models' through v1beta1): a kind brings only how it reads a job and the
TuningJob its launch creates (TuningJobs' `read` and `request`), and composes the rest.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any, Generic, Protocol, TypeVar

from reconciler.backends.adapter import V1, AdapterKind, Context
from reconciler.backends.calls import (
    Caller,
    Created,
    Launched,
    as_version,
    cancel_run,
    check_adoptable,
    described,
    is_planned_run,
    is_quota,
    is_too_large,
    observed_job,
    retry_policy,
    transient_errors,
)
from reconciler.backends.leases import Hold, Leases, seconds
from reconciler.backends.listing import managed_list
from reconciler.core import labels as managed
from reconciler.core.estimate import tokens_text
from reconciler.core.identity import age
from reconciler.core.observed import JobState, ObservedJob, RunOutputs
from reconciler.core.resources import location_of
from reconciler.core.runkey import RunKey
from reconciler.errors import BackendError, QuotaExceeded
from reconciler.kinds.base import LaunchRequest
from reconciler.kinds.tuning_api import observed_metadata
from reconciler.kinds.tuning_job import (
    KIND,
    TUNING_JOB,
    TuningJobLaunch,
    observed_inputs,
)

COLLECTION = "tuningJobs"
# A TuningJob's JobState (the same enum in aiplatform_v1 and v1beta1), as planning sees it.
STATES = {
    # How a gRPC client sees a job the service holds for quota (the REST surface's
    # TUNING_JOB_STATE_WAITING_FOR_QUOTA has no field in the v1 TuningJob): undocumented.
    "JOB_STATE_QUEUED": JobState.QUEUED,
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
CREATE_ATTEMPTS = 6
# Rounds of taking the lease again after another apply took it over from a slow holder.
TAKEOVER_ROUNDS = 3
SETTLE_ENV = "TUNEOPS_LIST_SETTLE_SECONDS"
# How long a create whose reply was lost is looked for before it is made again: longer than
# any list may lag behind a create (undocumented).
DEFAULT_SETTLE_SECONDS = 30.0


class Refused(BackendError):
    """The service refused the create outright: nothing was launched."""


class RefusedForQuota(Refused, QuotaExceeded):
    """Refused for quota: the job waits, it has not failed."""


def outputs_of(job: Any) -> RunOutputs:
    """What a run created, as TuningJob.tuned_model says: the Model, the endpoint of its
    default checkpoint, and each checkpoint's endpoint."""
    tuned = job.tuned_model
    return RunOutputs(model=tuned.model or None, endpoint=tuned.endpoint or None,
                      checkpoint_endpoints=tuple(c.endpoint for c in tuned.checkpoints
                                                 if c.endpoint))


def notes_of(job: Any) -> tuple[str, ...]:
    """What the service says of the run's training data (TuningJob.tuning_data_stats), when
    it has: it drops bad examples rather than failing the run."""
    stats = job.tuning_data_stats.supervised_tuning_data_stats
    if not stats.tuning_dataset_example_count and not stats.total_truncated_example_count:
        return ()
    notes = [f"{stats.tuning_dataset_example_count:,} examples tuned",
             f"{stats.total_truncated_example_count:,} dropped"]
    if stats.total_billable_token_count:
        notes.append(f"{tokens_text(stats.total_billable_token_count)} billable tokens")
    reasons = list(dict.fromkeys(stats.dropped_example_reasons))
    if reasons:
        notes.append("dropped because: " + "; ".join(reasons[:3]))
    return tuple(notes)


def state_of(job: Any) -> JobState:
    return STATES.get(job.state.name, JobState.PENDING)


def job_from_proto(job: Any) -> ObservedJob:
    labels = dict(job.labels)
    hyper = job.supervised_tuning_spec.hyper_parameters
    found = observed_job(
        job, kind=KIND, state=state_of(job), labels=labels,
        inputs=observed_inputs(
            base_model=job.base_model, location=location_of(job.name),
            hyper_parameters={"epoch_count": hyper.epoch_count,
                              "learning_rate_multiplier": hyper.learning_rate_multiplier,
                              "adapter_size": hyper.adapter_size.name},
            kms_key_name=job.encryption_spec.kms_key_name, labels=labels),
        metadata=observed_metadata(job.tuned_model_display_name, labels))
    return replace(found, outputs=outputs_of(job), notes=notes_of(job))


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

    A kind of TuningJob brings how it reads a job of its API version `api` (`read`) and the
    TuningJob its launch creates (`request`); listing, leasing, creating exactly once,
    reading and cancelling are the same for every kind.
    """

    def __init__(self, caller: Caller, clients: dict[str, Any], leases: Leases, *,
                 read: Callable[[Any], ObservedJob], request: Callable[[L], dict[str, Any]],
                 api: str = V1, sleep: Callable[[float], None] = time.sleep) -> None:
        self._call = caller
        self._clients = clients
        self._leases = leases
        self._read = read
        self._request = request
        self._api = api
        self._sleep = sleep

    @cached_property
    def _message(self) -> type:
        # Imported on first use, like the clients: `reconcile validate` never pays for it.
        message: type = importlib.import_module(
            f"google.cloud.{self._api}.types.tuning_job").TuningJob
        return message

    def read(self, job: Any) -> ObservedJob:
        """A TuningJob of any API version (another kind's, listed through its client), as
        this kind reads it."""
        return self._read(as_version(job, self._message))

    def _parent(self, location: str) -> str:
        return f"projects/{self._call.project}/locations/{location}"

    def _list(self, location: str, wanted: Mapping[str, str] = managed.MANAGED) -> list[Any]:
        request = {"parent": self._parent(location)}
        return managed_list(self._call, f"listing tuning jobs in {location}",
                            self._clients[location].list_tuning_jobs, request, lambda job: job,
                            wanted=wanted)

    def list(self, location: str) -> list[Any]:
        """Every managed TuningJob of `location`, of any kind, as the service returns it."""
        return self._list(location)

    def _runs(self, launch: L) -> Sequence[ObservedJob]:
        """Every run of this launch's name, fingerprint and attempt in its project and
        location, oldest first."""
        planned = launch.labels
        wanted = {key: planned[key] for key in (managed.MANAGED_BY, managed.NAME,
                                                managed.FINGERPRINT, managed.ATTEMPT)}
        found = [job for job in map(self.read, self._list(launch.location, wanted))
                 if is_planned_run(job, planned)]
        return sorted(found, key=age)

    def _launched(self, launch: L) -> ObservedJob | None:
        """The run of this launch, if any apply launched it (the older of twins)."""
        runs = self._runs(launch)
        return runs[0] if runs else None

    def create(self, launch: L) -> Launched:
        # No look for the run before the lease: the plan just listed none, and the look
        # under the lease (_create_holding) finds one all the same.
        key = RunKey(launch.location, launch.kind, launch.labels[managed.NAME],
                     launch.labels[managed.FINGERPRINT], int(launch.labels[managed.ATTEMPT]))
        uri = self._leases.uri(key)
        for _ in range(TAKEOVER_ROUNDS):
            taken = self._leases.take(uri, launch.lease, lambda: self._launched(launch),
                                      self.get)
            if isinstance(taken, ObservedJob):
                check_adoptable(taken, launch.labels)
                return Launched(Created.ADOPTED, taken)
            with taken:
                launched = self._create_holding(launch, taken)
            if launched is not None:
                # An adopted run is the oldest of its twins already (_launched).
                return (launched if launched.created is Created.ADOPTED
                        else self._keep_older(launch, launched))
        raise BackendError(f"{launch.lease}: other applies kept taking the launch lease over; "
                           "run apply again")

    def _create_holding(self, launch: L, hold: Hold) -> Launched | None:
        """Creates the job while holding the lease; None when it was taken over first."""
        # A holder before us may still have launched it.
        existing = self._launched(launch)
        if existing is not None:
            hold.record(existing.resource)
            return Launched(Created.ADOPTED, existing)
        # Right before the create: a slow holder may have been overtaken meanwhile.
        if not hold.held():
            return None
        try:
            launched = self._create_once(launch, hold)
        except Refused:
            hold.release()
            raise
        hold.record(launched.job.resource)
        return launched

    def _keep_older(self, launch: L, launched: Launched) -> Launched:
        """A twin can never be ruled out (a create stalled past the lease): if an older run
        of the same name, fingerprint and attempt exists, ours is the twin, cancelled now."""
        job = launched.job
        older = min([*self._runs(launch), job], key=age)
        if older.resource == job.resource:
            return launched
        self.cancel(job.resource)
        return Launched(Created.ADOPTED, older, cancelled_twin=job.resource)

    def _settle(self, launch: L, hold: Hold) -> ObservedJob | None:
        """After a create that failed in transit: the job it may have made anyway, looked
        for in the lease (another apply may have recorded it there) and by its labels, until
        the list has had time to show it. A list may lag behind a create (undocumented), and
        creating again too soon would launch a twin."""
        deadline = time.monotonic() + seconds(SETTLE_ENV, DEFAULT_SETTLE_SECONDS)
        delay = 0.2
        while True:
            lease = self._leases.read(hold.uri)
            if lease is not None and lease.body.get("job"):
                return self.get(str(lease.body["job"]))
            found = self._launched(launch)
            left = deadline - time.monotonic()
            if found is not None or left <= 0:
                return found
            self._sleep(min(delay, left))
            delay = min(delay * 2, 5.0)

    def _create_once(self, launch: L, hold: Hold) -> Launched:
        """Creates the job; after a failed try (and after the last), looks for it: a lost
        response still created it, and the outcome says what is true at the end."""
        from google.api_core import exceptions  # noqa: PLC0415

        client = self._clients[launch.location]
        request = {"parent": self._parent(launch.location),
                   "tuning_job": self._request(launch)}
        transient = transient_errors()
        delay = 0.2
        failure = "no attempt was made"
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                self._call.submitting(launch.location)
                return Launched(Created.LAUNCHED, self.read(
                    client.create_tuning_job(request=request, retry=None)))
            except transient as error:
                if is_quota(error):
                    raise RefusedForQuota(f"creating {launch.lease}: {described(error)}"
                                          ) from None
                if is_too_large(error):
                    raise Refused(f"creating {launch.lease}: {error.message}") from None
                failure = str(error.message)
            except exceptions.GoogleAPICallError as error:
                raise Refused(f"creating {launch.lease}: {described(error)}") from None
            found = self._settle(launch, hold)
            if found is not None:
                check_adoptable(found, launch.labels)
                return Launched(Created.LAUNCHED, found)
            if attempt < CREATE_ATTEMPTS:
                self._sleep(delay)
                delay = min(delay * 2, 5.0)
        raise BackendError(f"creating {launch.lease}: {failure}")

    def get(self, resource: str) -> ObservedJob:
        client = self._clients[location_of(resource)]
        return self.read(self._call(f"reading {resource}", lambda: client.get_tuning_job(
            name=resource, retry=retry_policy())))

    def outputs(self, resource: str) -> RunOutputs:
        client = self._clients[location_of(resource)]
        return outputs_of(self._call(f"reading {resource}", lambda: client.get_tuning_job(
            name=resource, retry=retry_policy())))

    def cancel(self, resource: str) -> bool:
        client = self._clients[location_of(resource)]
        return cancel_run(self._call, resource, lambda: client.cancel_tuning_job(
            name=resource, retry=retry_policy()))


def _adapter(context: Context, clients: dict[str, Any]) -> TuningJobs[TuningJobLaunch]:
    return TuningJobs(context.caller, clients, context.leases, read=job_from_proto,
                      request=tuning_job)


ADAPTER = AdapterKind(TUNING_JOB, service="GenAiTuning", collection=COLLECTION, make=_adapter)
