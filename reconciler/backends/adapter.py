"""What one kind's backend adapter is: its jobs on Vertex AI, and how the backend builds it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from reconciler.backends.calls import Caller, Created
from reconciler.core.observed import ObservedJob, RunOutputs
from reconciler.kinds.base import Kind, LaunchRequest

# The GAPIC package of google-cloud-aiplatform that Models, Endpoints and most services use.
V1 = "aiplatform_v1"
L = TypeVar("L", bound=LaunchRequest)
L_contra = TypeVar("L_contra", bound=LaunchRequest, contravariant=True)


class Leases(Protocol):
    """Conditional writes to Cloud Storage (reconciler.edges.storage.Storage)."""

    def write_if(self, uri: str, body: dict[str, Any], generation: int) -> int | None: ...

    def read_lease(self, uri: str) -> Any: ...


@dataclass(frozen=True)
class Context:
    """What every adapter is given: calls for one project, and where launch leases live
    for kinds whose service names its jobs itself."""

    caller: Caller
    leases: Leases
    lease_prefix: str


class Adapter(Protocol[L_contra]):
    """One kind's jobs of one project, with a client per location the kind tunes in."""

    def list(self) -> list[ObservedJob]:
        """Every managed job: one filtered, paginated list call per location."""

    def create(self, launch: L_contra) -> tuple[Created, ObservedJob]:
        """Launches the request, or adopts the job an earlier or racing apply made for it."""

    def get(self, resource: str) -> ObservedJob: ...

    def outputs(self, resource: str) -> RunOutputs: ...

    def cancel(self, resource: str) -> None: ...


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
