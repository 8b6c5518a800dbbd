"""Records of runs in the staging bucket: what their immutable labels cannot say.

One small object per run and fact, `{staging}/records/{project id}/{location}/{kind}/{name}/
{fingerprint}/{attempt}/{fact}`, its value in the object's custom metadata so that one list
call under the project's prefix reads them all. Each is written with a generation
precondition (created only if absent, replaced only if unchanged since read), so of two
applies recording different values one wins and the other says so.

Evaluations live there too, read by the same list call: a run's score on one evaluation
dataset with one metric (`.../{attempt}/score/{dataset hash}/{metric}`), created only if
absent, so a score is computed once and a racing apply that loses the write takes the
winner's; that a run was promoted to a channel (`.../{attempt}/promoted/{channel}`); and
each channel's pointer (`channels/{channel}`, backends/channels.py).

Why the bucket, and not the Model's labels: a record exists for every run, also one whose
Model is gone or was never labelled, and whether UpdateModel may change a tuned Gemini
Model's labels is undocumented. The labels are updated too where the service allows it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from reconciler.backends import leases
from reconciler.backends.channels import CHANNELS, from_metadata
from reconciler.core.channels import Evaluations, Promoted, Scoring
from reconciler.core.identity import Records
from reconciler.core.runkey import RunKey
from reconciler.edges.storage import Listed
from reconciler.errors import BackendError, TuneopsError

VALUE = "value"
SCORE = "score"
PROMOTED = "promoted"
# Read, then write conditioned on what was read: a concurrent writer costs one more round.
WRITE_ROUNDS = 3


class Bucket(leases.Bucket, Protocol):
    """Listing too (reconciler.edges.storage.Storage)."""

    def listing(self, prefix: str) -> list[Listed]: ...


@dataclass
class _Read:
    facts: list[tuple[RunKey, str, str]]
    scores: dict[tuple[RunKey, Scoring], float]
    promoted: dict[RunKey, set[str]]
    channels: dict[str, Promoted]


class RecordStore:
    def __init__(self, bucket: Bucket, prefix: str) -> None:
        self._bucket = bucket
        self._prefix = prefix

    def _parts(self, listed: list[Listed]) -> Iterator[tuple[list[str], Listed]]:
        for found in listed:
            yield found.uri.removeprefix(f"{self._prefix}/").split("/"), found

    def _sort(self, listed: list[Listed]) -> _Read:
        read = _Read([], {}, {}, {})
        for parts, found in self._parts(listed):
            value = found.metadata.get(VALUE, "")
            if len(parts) == 2 and parts[0] == CHANNELS:
                now = from_metadata(parts[1], found.metadata)
                if now is not None:
                    read.channels[parts[1]] = now
                continue
            key = RunKey.parse("/".join(parts[:5]))
            if key is None:
                continue
            rest = parts[5:]
            if len(rest) == 1:
                read.facts.append((key, rest[0], value))
            elif len(rest) == 3 and rest[0] == SCORE:
                try:
                    read.scores[(key, Scoring(rest[1], rest[2]))] = float(value)
                except ValueError:
                    continue  # not a score tuneops wrote
            elif len(rest) == 2 and rest[0] == PROMOTED:
                read.promoted.setdefault(key, set()).add(rest[1])
        return read

    def read(self) -> tuple[Records, Evaluations]:
        """Everything recorded for the project, in one list call."""
        read = self._sort(self._bucket.listing(f"{self._prefix}/"))
        return Records.of(read.facts), Evaluations(
            scores=read.scores, channels=read.channels,
            promoted={key: frozenset(channels) for key, channels in read.promoted.items()})

    def write(self, key: RunKey, fact: str, value: str) -> None:
        uri = f"{self._prefix}/{key.path()}/{fact}"
        body = {VALUE: value, "time": time.time()}
        for _ in range(WRITE_ROUNDS):
            current = self._bucket.read_lease(uri)
            if current is not None and current.body.get(VALUE) == value:
                return
            generation = 0 if current is None else current.generation
            if self._bucket.write_if(uri, body, generation, metadata={VALUE: value}) is not None:
                return
        raise BackendError(f"{uri}: another apply keeps recording another {fact} for this run; "
                           "run apply again")

    def _score_uri(self, key: RunKey, scoring: Scoring) -> str:
        return f"{self._prefix}/{key.path()}/{SCORE}/{scoring.dataset}/{scoring.metric}"

    def read_score(self, key: RunKey, scoring: Scoring) -> float | None:
        found = self._bucket.read_lease(self._score_uri(key, scoring))
        try:
            return None if found is None else float(found.body[VALUE])
        except (KeyError, TypeError, ValueError):
            return None

    def record_score(self, key: RunKey, scoring: Scoring, score: float, examples: int
                     ) -> float:
        """Records a run's score once: the recorded one, the winner's if another apply
        recorded it first (its reply lost or not)."""
        uri = self._score_uri(key, scoring)
        body = {VALUE: repr(score), "examples": examples, "time": time.time()}
        try:
            written = self._bucket.write_if(uri, body, 0, metadata={VALUE: repr(score)})
        except TuneopsError:
            written = None  # the reply may be lost: what is recorded decides
        if written is not None:
            return score
        recorded = self.read_score(key, scoring)
        if recorded is None:
            raise BackendError(f"{uri}: the score could not be recorded; run apply again")
        return recorded

    def mark_promoted(self, key: RunKey, channel: str) -> None:
        """That `channel` had this run: going back to it later is a rollback."""
        uri = f"{self._prefix}/{key.path()}/{PROMOTED}/{channel}"
        stamp = repr(time.time())
        try:
            self._bucket.write_if(uri, {VALUE: stamp}, 0, metadata={VALUE: stamp})
        except TuneopsError:
            if self._bucket.read_lease(uri) is None:
                raise
