"""What one kind's backend adapter is: its jobs on Vertex AI, and how the backend builds it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from reconciler.backends.calls import Caller, Launched
from reconciler.backends.leases import Leases
from reconciler.core.observed import ObservedJob, RunOutputs
from reconciler.kinds.base import Kind, LaunchRequest

# The GAPIC package of google-cloud-aiplatform that Models, Endpoints and most services use.
V1 = "aiplatform_v1"
L = TypeVar("L", bound=LaunchRequest)
L_contra = TypeVar("L_contra", bound=LaunchRequest, contravariant=True)


@dataclass(frozen=True)
class Context:
    """What every adapter is given: calls for one project, and the project's launch leases
    for kinds whose service names its jobs itself."""

    caller: Caller
    leases: Leases


class Adapter(Protocol[L_contra]):
    """One kind's jobs of one project, with a client per location the kind tunes in."""

    def list(self, location: str) -> list[Any]:
        """Every managed job in one of its kind's locations, as its API's messages: one
        filtered, paginated list call. Kinds whose jobs share a collection share this list:
        the backend makes it once and hands each job to each kind (`read`)."""

    def read(self, job: Any) -> ObservedJob:
        """A job message of its collection (of any API version), as its kind reads it."""

    def create(self, launch: L_contra) -> Launched:
        """Launches the request, or adopts the job an earlier or racing apply made for it
        (only the planned run: its name, fingerprint and attempt)."""

    def get(self, resource: str) -> ObservedJob: ...

    def outputs(self, resource: str) -> RunOutputs: ...

    def cancel(self, resource: str) -> bool:
        """Cancels a run; False when it had already ended."""


@dataclass(frozen=True)
class AdapterKind(Generic[L]):
    """An entry of the adapter registry (backends/all_adapters.py)."""

    kind: Kind[Any, L]
    # The GAPIC client, `google.cloud.{api}.{service}ServiceClient`.
    service: str
    # A job's resource names its adapter: `projects/P/locations/L/{collection}/ID`.
    collection: str
    # The adapter, given clients by location (one for each of the kind's locations).
    make: Callable[[Context, dict[str, Any]], Adapter[L]]
    # The GAPIC package whose client it takes (a kind may need aiplatform_v1beta1's).
    api: str = V1
