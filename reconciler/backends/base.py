"""The Backend port: everything apply and observe need from a tuning service."""

from __future__ import annotations

from typing import Protocol

from reconciler.backends.calls import Created
from reconciler.core.observed import Observed, ObservedJob
from reconciler.kinds import Launch


class Backend(Protocol):
    def observe(self) -> Observed:
        """All managed jobs and Models, in one filtered, paginated list per resource type."""

    def create(self, launch: Launch) -> tuple[Created, ObservedJob]:
        """Launches the request of the launch's kind, or adopts the job it already made."""

    def get(self, resource: str) -> ObservedJob: ...

    def cancel(self, resource: str) -> None: ...

    def update_model(self, model: str, *, display_name: str, description: str,
                     labels: dict[str, str]) -> None: ...

    def delete_model(self, model: str) -> None: ...
