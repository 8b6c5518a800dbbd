"""The Backend port: everything apply and observe need from a tuning service."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from reconciler.core.observed import Observed, ObservedJob
from reconciler.kinds.pipeline import LaunchSpec


class Created(StrEnum):
    LAUNCHED = "launched"
    # ALREADY_EXISTS for our deterministic id: an earlier or concurrent apply launched it.
    ADOPTED = "adopted"


class Backend(Protocol):
    def observe(self) -> Observed:
        """All managed jobs and Models, in one filtered, paginated list per resource type."""

    def create(self, launch: LaunchSpec) -> tuple[Created, ObservedJob]: ...

    def get(self, location: str, job_id: str) -> ObservedJob: ...

    def cancel(self, resource: str) -> None: ...

    def update_model(self, model: str, *, display_name: str, description: str,
                     labels: dict[str, str]) -> None: ...

    def delete_model(self, model: str) -> None: ...
