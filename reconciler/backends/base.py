"""The Backend port: everything apply and observe need from a tuning service."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from reconciler.backends.calls import Launched
from reconciler.backends.channels import Move
from reconciler.core.channels import Evaluations, Promoted, Scoring
from reconciler.core.observed import Observed, ObservedJob, ObservedModel, RunOutputs
from reconciler.core.runkey import RunKey
from reconciler.kinds import Launch
from reconciler.kinds.base import Question


class Registry(Protocol):
    """The Model Registry and Endpoints (reconciler.backends.models.Registry)."""

    def get(self, model: str, *, name: str, fingerprint: str, attempt: int = 0
            ) -> ObservedModel | None: ...

    def update(self, model: str, *, display_name: str, description: str,
               labels: dict[str, str] | None) -> str:
        """Writes the Model's metadata; "" when done, else the labels refusal recorded."""

    def relabel(self, model: str, *, add: dict[str, str], drop: tuple[str, ...] = ()
                ) -> None: ...

    def delete(self, model: str) -> bool:
        """False when the service refuses to delete it (it is then recorded retired)."""

    def deployments(self, model: str) -> list[tuple[str, str]]: ...

    def undeploy(self, endpoint: str, deployed_model_id: str) -> None: ...

    def serves_nothing(self, endpoint: str) -> bool | None:
        """Whether the endpoint serves no model (None: it is gone)."""

    def delete_endpoint(self, endpoint: str) -> None: ...


class Predictions(Protocol):
    """PredictionService (reconciler.backends.prediction.Predictions)."""

    def ask(self, endpoint: str, question: Question) -> str: ...


class Scorer(Protocol):
    """EvaluationService (reconciler.backends.evaluation.Scorer)."""

    def score(self, location: str, metric: str, pairs: Sequence[tuple[str, str]]
              ) -> list[float]: ...


class Scores(Protocol):
    """Scores and promotions recorded in the staging bucket (backends.records.RecordStore)."""

    def read_score(self, key: RunKey, scoring: Scoring) -> float | None: ...

    def record_score(self, key: RunKey, scoring: Scoring, score: float, examples: int
                     ) -> float: ...

    def mark_promoted(self, key: RunKey, channel: str) -> None: ...


class Channels(Protocol):
    """Channel pointers (reconciler.backends.channels.ChannelPointers)."""

    def move(self, channel: str, expected: RunKey | None, new: Promoted) -> Move: ...


class Backend(Protocol):
    @property
    def registry(self) -> Registry: ...

    @property
    def predictions(self) -> Predictions: ...

    @property
    def scorer(self) -> Scorer: ...

    @property
    def records(self) -> Scores: ...

    @property
    def channels(self) -> Channels: ...

    def evaluations(self) -> Evaluations:
        """Scores and channel pointers alone, in one list call."""

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
