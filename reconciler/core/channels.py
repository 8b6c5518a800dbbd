"""PURE: what tuneops records of evaluations: scores of runs, and the channels runs are
promoted to.

A score is of one run on one evaluation dataset (its content hash) with one metric: the
same run on the same data scores the same, so a score is computed once and kept. A channel
("production") is a stable name an application resolves to the Model and Endpoint of one
run: a pointer tuneops owns (a tuned Gemini Model is a Model of its own, version 1, so
Model Registry aliases cannot move between runs). Every run ever promoted to a channel is
recorded too: going back to one (`git revert`) is a rollback, not a new candidate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.core.runkey import RunKey

# The metrics of Vertex AI's EvaluationService that compare a response with a reference
# (evaluation_service.proto: exact_match_input, bleu_input, rouge_input).
METRICS = ("exact_match", "bleu", "rouge_l")


@dataclass(frozen=True, order=True)
class Scoring:
    """What a score is of: an evaluation dataset's content hash and a metric."""

    dataset: str
    metric: str


@dataclass(frozen=True)
class Promoted:
    """A channel's current run, as its pointer records it."""

    channel: str
    run: RunKey
    # The run's job, its Model and the Endpoint that answers for it.
    job: str
    model: str
    endpoint: str
    # The job name it was promoted under (a later rename moves the run, not this).
    name: str
    # Its score when promoted, and on what.
    score: float | None
    scoring: Scoring
    since: float = 0.0


@dataclass(frozen=True)
class Evaluations:
    """Every score, every channel's current run, and which runs each channel ever had."""

    scores: Mapping[tuple[RunKey, Scoring], float] = field(default_factory=dict)
    channels: Mapping[str, Promoted] = field(default_factory=dict)
    promoted: Mapping[RunKey, frozenset[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.scores or self.channels or self.promoted)

    def score(self, run: RunKey, scoring: Scoring) -> float | None:
        return self.scores.get((run, scoring))

    def channels_of(self, run: RunKey) -> tuple[str, ...]:
        """The channels whose current run this is."""
        return tuple(sorted(name for name, now in self.channels.items() if now.run == run))

    def ever_promoted(self, run: RunKey, channel: str) -> bool:
        return channel in self.promoted.get(run, frozenset())


def score_text(score: float | None) -> str:
    """0.612, 0.58, 1: a score at a glance (three decimals at most)."""
    if score is None:
        return "not scored"
    return f"{score:.3f}".rstrip("0").rstrip(".") if score else "0"
