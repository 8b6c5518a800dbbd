"""The Backend port: everything apply and observe need from a tuning service."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from reconciler.backends.calls import Launched
from reconciler.core.observed import Observed, ObservedJob, ObservedModel, RunOutputs
from reconciler.kinds import Launch


class Registry(Protocol):
    """The Model Registry and Endpoints (reconciler.backends.models.Registry)."""

    def get(self, model: str, *, name: str, fingerprint: str, attempt: int = 0
            ) -> ObservedModel | None: ...

    def update(self, model: str, *, display_name: str, description: str,
               labels: dict[str, str]) -> None: ...

    def delete(self, model: str) -> None: ...

    def deployments(self, model: str) -> list[tuple[str, str]]: ...

    def undeploy(self, endpoint: str, deployed_model_id: str) -> None: ...

    def serves_nothing(self, endpoint: str) -> bool: ...

    def delete_endpoint(self, endpoint: str) -> None: ...


class Backend(Protocol):
    @property
    def registry(self) -> Registry: ...

    def observe(self, wanted: Collection[tuple[str, str]] = ()) -> Observed:
        """All managed jobs and Models, in one filtered, paginated list per resource type,
        under the names the staging bucket records; the Model of a wanted (name,
        fingerprint) is also found through its run."""

    def create(self, launch: Launch) -> Launched:
        """Launches the request of the launch's kind, or adopts the job it already made."""

    def rename(self, resources: Collection[str], name: str) -> None:
        """Moves these runs to the job `name`, without launching anything."""

    def get(self, resource: str) -> ObservedJob: ...

    def outputs(self, resource: str) -> RunOutputs:
        """The Model and Endpoint a succeeded run created, as the run records them."""

    def cancel(self, resource: str, *, reason: str = "") -> bool:
        """Cancels a run; False when it had already ended. `reason` records why tuneops
        cancelled it ("superseded"), so its end is not taken for a failure."""
