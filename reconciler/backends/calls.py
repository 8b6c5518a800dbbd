"""How every Vertex AI call is made: one retry policy, one error translation, paging."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

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


def observed_job(job: Any, *, kind: str, state: JobState, inputs: dict[str, Any],
                 metadata: dict[str, Any]) -> ObservedJob:
    """A job as planning sees it: what every kind's API object has, and its kind's reading."""
    labels = job.labels
    return ObservedJob(
        kind=kind,
        job_id=id_of(job.name),
        resource=job.name,
        name=labels.get(managed.NAME, ""),
        fingerprint=labels.get(managed.FINGERPRINT, ""),
        state=state,
        create_time=job.create_time.isoformat() if job.create_time else "",
        inputs=inputs,
        metadata=metadata,
        commit=labels.get(managed.COMMIT, ""),
        error=job.error.message,
    )


def check_adoptable(job: ObservedJob, planned: dict[str, str]) -> None:
    """A job found where ours should be is ours only if it carries the planned fingerprint.

    Anything else (another config's job, or one tuneops does not manage) is never adopted:
    calling it ours would mark a config as tuned by a run of other inputs.
    """
    if (job.fingerprint, job.name) != (planned[managed.FINGERPRINT], planned[managed.NAME]):
        raise BackendError(
            f"{job.resource} already exists but is not this job's run (its fingerprint "
            f"label is {job.fingerprint or 'missing'}, planned "
            f"{planned[managed.FINGERPRINT]}); it was not adopted")


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


def is_quota(error: Exception) -> bool:
    """RESOURCE_EXHAUSTED for a quota of concurrent work, not a rate: retrying in seconds
    cannot help ("The following quota metrics exceed quota limits: ...")."""
    return "exceed quota limits" in str(error)


@dataclass(frozen=True)
class Caller:
    """Makes calls for one project, turning API errors into one-line BackendErrors."""

    project: str

    def __call__(self, what: str, call: Callable[[], T]) -> T:
        from google.api_core import exceptions  # noqa: PLC0415

        try:
            return call()
        except exceptions.GoogleAPICallError as error:
            failure = QuotaExceeded if is_quota(error) else BackendError
            raise failure(f"{what}: {error.message or error}") from None
        except exceptions.RetryError as error:
            raise BackendError(f"{what}: gave up after retries: {error.cause}") from None

    def list(self, what: str, method: Callable[..., Iterable[Any]], request: dict[str, Any],
             convert: Callable[[Any], T]) -> list[T]:
        """Every page of one list call; the pager fetches the next page as it is iterated."""
        return self(what, lambda: [convert(item)
                                   for item in method(request=request, retry=retry_policy())])
