"""How every Vertex AI call is made: one retry policy, one error translation, paging."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler.backends.pacing import Pacer
from reconciler.core import labels as managed
from reconciler.core.observed import JobState, ObservedJob
from reconciler.core.resources import id_of
from reconciler.errors import BackendError, QuotaExceeded

if TYPE_CHECKING:
    from google.api_core.exceptions import GoogleAPICallError

T = TypeVar("T")


class Created(StrEnum):
    LAUNCHED = "launched"
    # The job already existed: an earlier or concurrent apply launched it.
    ADOPTED = "adopted"


@dataclass(frozen=True)
class Launched:
    """What a create ended with, as true at the end, not as one call saw it."""

    created: Created
    job: ObservedJob
    # A twin of `job` (the same name, fingerprint and attempt) that this create made and
    # cancelled at once, keeping the older run.
    cancelled_twin: str = ""


_RELAUNCH = re.compile(r"-r(?P<attempt>[0-9]+)$")


def attempt_of(job_id: str, labels: Mapping[str, str]) -> int:
    """A run's attempt: its label, else (pipeline jobs launched before the label existed)
    the `-rN` suffix of its deterministic id `{name}-{fingerprint[:12]}-rN`."""
    label = labels.get(managed.ATTEMPT, "")
    if label.isdigit():
        return int(label)
    base = f"{labels.get(managed.NAME, '')}-{labels.get(managed.FINGERPRINT, '')[:12]}"
    match = _RELAUNCH.fullmatch(job_id.removeprefix(base)) if job_id.startswith(base) else None
    return int(match["attempt"]) if match else 1


def observed_job(job: Any, *, kind: str, state: JobState, labels: dict[str, str],
                 inputs: dict[str, Any], metadata: dict[str, Any]) -> ObservedJob:
    """A job as planning sees it: what every kind's API object has (its `labels` read once,
    as a dict: a proto-plus map converts at every access), and its kind's reading."""
    resource = job.name
    job_id = id_of(resource)
    return ObservedJob(
        kind=kind,
        job_id=job_id,
        resource=resource,
        name=labels.get(managed.NAME, ""),
        fingerprint=labels.get(managed.FINGERPRINT, ""),
        state=state,
        create_time=job.create_time.isoformat() if job.create_time else "",
        inputs=inputs,
        metadata=metadata,
        commit=labels.get(managed.COMMIT, ""),
        error=job.error.message,
        attempt=attempt_of(job_id, labels),
    )


def as_version(job: Any, message: type[T]) -> T:
    """A job message as another API version's message of the same resource (aiplatform_v1
    and v1beta1 are wire-compatible, and a field one version lacks survives decoding as an
    unknown field, so nothing is lost either way)."""
    if isinstance(job, message):
        return job
    decoded: T = message.deserialize(type(job).serialize(job))  # type: ignore[attr-defined]
    return decoded


def is_planned_run(job: ObservedJob, planned: Mapping[str, str]) -> bool:
    """Whether a run is the planned one: managed, of the planned name, fingerprint and
    attempt (the project is the one every call is made in)."""
    return (job.label_name, job.fingerprint, str(job.attempt)) == (
        planned[managed.NAME], planned[managed.FINGERPRINT], planned[managed.ATTEMPT])


def check_adoptable(job: ObservedJob, planned: Mapping[str, str]) -> None:
    """A job found where ours should be is ours only if it is the planned run.

    Anything else (another config's job, another attempt, or one tuneops does not manage)
    is never adopted: calling it ours would mark a config as tuned by a run of other inputs.
    """
    if not is_planned_run(job, planned):
        raise BackendError(
            f"{job.resource} already exists but is not this job's run (it is "
            f"{job.label_name or 'unnamed'} {job.fingerprint[:12] or 'without a fingerprint'} "
            f"attempt {job.attempt}, planned {planned[managed.NAME]} "
            f"{planned[managed.FINGERPRINT][:12]} attempt {planned[managed.ATTEMPT]}); it was "
            "not adopted")


def cancel_run(caller: Caller, resource: str, cancel: Callable[[], Any]) -> bool:
    """Cancels a run; False when it had already ended (FAILED_PRECONDITION), so there was
    nothing left to stop."""
    from google.api_core import exceptions  # noqa: PLC0415

    def attempt() -> bool:
        try:
            cancel()
        except exceptions.FailedPrecondition:
            return False
        return True

    return caller(f"cancelling {resource}", attempt)


def transient_errors() -> tuple[type[GoogleAPICallError], ...]:
    """The errors worth calling again for: UNAVAILABLE, RESOURCE_EXHAUSTED (429 too),
    DEADLINE_EXCEEDED and INTERNAL; never INVALID_ARGUMENT, PERMISSION_DENIED or NOT_FOUND."""
    from google.api_core import exceptions  # noqa: PLC0415

    return (exceptions.ServiceUnavailable, exceptions.TooManyRequests,
            exceptions.ResourceExhausted, exceptions.DeadlineExceeded,
            exceptions.InternalServerError)


def retry_policy() -> Any:
    """GAPIC create/list carry no default retry, and api-core's default skips DEADLINE_EXCEEDED.

    Only transient codes are retried, with capped exponential backoff and jitter; a create
    is retried with the same pipeline_job_id, so a lost response resolves as ALREADY_EXISTS.
    """
    from google.api_core import retry  # noqa: PLC0415

    transient = retry.if_exception_type(*transient_errors())

    def predicate(error: Exception) -> bool:
        # gRPC reports a message over its size limit as RESOURCE_EXHAUSTED too; resending
        # the same message can never succeed.
        return bool(transient(error)) and not is_too_large(error) and not is_quota(error)

    return retry.Retry(
        predicate=predicate,
        initial=0.2,
        maximum=5.0,
        multiplier=2.0,
        timeout=60.0,
    )


def is_too_large(error: Exception) -> bool:
    return "larger than max" in str(error)


# A quota measured per unit of time is a rate limit: retried after a pause, never queued.
_RATE = re.compile(r"per.?minute|per.?second|per.?day|requests", re.IGNORECASE)
_QUOTA_FAILURE = "google.rpc.QuotaFailure"
_ERROR_INFO = "google.rpc.ErrorInfo"


def _quota_names(details: Iterable[Any]) -> list[str]:
    """What the google.rpc details of an error say of the quotas it exceeds: a
    QuotaFailure's violations, an ErrorInfo's quota metric (as Google APIs attach them)."""
    found = []
    for detail in details:
        kind = getattr(getattr(detail, "DESCRIPTOR", None), "full_name", "")
        if kind == _QUOTA_FAILURE:
            found += [" ".join((v.subject, v.description, getattr(v, "quota_metric", "")))
                      for v in detail.violations]
        elif kind == _ERROR_INFO and any("quota" in key for key in detail.metadata):
            found.append(" ".join(f"{k}={v}" for k, v in sorted(detail.metadata.items())))
    return found


def is_quota(error: Exception) -> bool:
    """RESOURCE_EXHAUSTED for a quota of concurrent work, not a rate: retrying in seconds
    cannot help. Known by its text ("The following quota metrics exceed quota limits: ...")
    or by its details (a QuotaFailure, or an ErrorInfo naming a quota metric) when they name
    no rate; what the tuning quota's refusal carries is undocumented."""
    from google.api_core import exceptions  # noqa: PLC0415

    if "exceed quota limits" in str(error):
        return True
    if not isinstance(error, exceptions.ResourceExhausted | exceptions.TooManyRequests):
        return False
    names = _quota_names(error.details or ())
    return bool(names) and not any(_RATE.search(name) for name in names)


def described(error: GoogleAPICallError) -> str:
    """An API error's message, with the quotas its details name (a generic "Resource has
    been exhausted" says nothing of which)."""
    message = str(error.message or error)
    names = _quota_names(getattr(error, "details", None) or ())
    return f"{message} ({'; '.join(names)})" if names else message


@dataclass(frozen=True)
class Caller:
    """Makes calls for one project, turning API errors into one-line BackendErrors."""

    project: str
    # Paces job and LRO submissions per region (None: unpaced, as against the emulator,
    # which enforces the rate itself only when asked to).
    pacer: Pacer | None = None

    def submitting(self, location: str) -> None:
        """Waits until a job or LRO submission in `location` is within the request quota;
        called right before each submission RPC, retries included."""
        if self.pacer is not None:
            self.pacer.wait(self.project, location)

    def __call__(self, what: str, call: Callable[[], T]) -> T:
        from google.api_core import exceptions  # noqa: PLC0415

        try:
            return call()
        except exceptions.GoogleAPICallError as error:
            failure = QuotaExceeded if is_quota(error) else BackendError
            raise failure(f"{what}: {described(error)}") from None
        except exceptions.RetryError as error:
            raise BackendError(f"{what}: gave up after retries: {error.cause}") from None

