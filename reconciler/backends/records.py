"""Records of runs in the staging bucket: what their immutable labels cannot say.

One small object per run and fact, `{staging}/records/{project id}/{location}/{kind}/{name}/
{fingerprint}/{attempt}/{fact}`, or per Model and fact, `{staging}/records/{project id}/
models/{location}/{model id}/{fact}`, its value in the object's custom metadata so that one
list call under the project's prefix reads them all. Each is written with a generation
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

import re
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol

from reconciler.backends import leases
from reconciler.backends.channels import CHANNELS, from_metadata
from reconciler.core.channels import Evaluations, Promoted, Scoring
from reconciler.core.identity import Records
from reconciler.core.runkey import Key, RunKey, of_record
from reconciler.edges.storage import Listed
from reconciler.errors import BackendError, TuneopsError

VALUE = "value"
SCORE = "score"
PROMOTED = "promoted"
# Read, then write conditioned on what was read: a concurrent writer costs one more round.
WRITE_ROUNDS = 3
# What follows a run's key in its records' paths; and a channel's pointer.
_FACT = re.compile(r"[^/]+")
_SCORE = re.compile(SCORE + r"/(?P<dataset>[^/]+)/(?P<metric>[^/]+)")
_PROMOTED = re.compile(PROMOTED + r"/(?P<channel>[^/]+)")
_CHANNEL = re.compile(CHANNELS + r"/(?P<channel>[^/]+)")


class Bucket(leases.Bucket, Protocol):
    """Listing too (reconciler.edges.storage.Storage)."""

    def listing(self, prefix: str) -> list[Listed]: ...


@dataclass
class _Read:
    facts: list[tuple[Key, str, str]]
    scores: dict[tuple[RunKey, Scoring], float]
    promoted: dict[RunKey, set[str]]
    channels: dict[str, Promoted]


class RecordStore:
    def __init__(self, bucket: Bucket, prefix: str) -> None:
        self._bucket = bucket
        self._prefix = prefix

    def _sort(self, listed: list[Listed]) -> _Read:
        read = _Read([], {}, {}, {})
        for found in listed:
            path = found.uri.removeprefix(f"{self._prefix}/")
            value = found.metadata.get(VALUE, "")
            if pointer := _CHANNEL.fullmatch(path):
                now = from_metadata(pointer["channel"], found.metadata)
                if now is not None:
                    read.channels[pointer["channel"]] = now
            elif (record := of_record(path)) is not None:
                self._sort_record(read, *record, value)
        return read

    @staticmethod
    def _sort_record(read: _Read, key: Key, rest: str, value: str) -> None:
        if _FACT.fullmatch(rest):
            read.facts.append((key, rest, value))
        elif not isinstance(key, RunKey):  # a Model's records are facts only
            return
        elif score := _SCORE.fullmatch(rest):
            with suppress(ValueError):  # not a score tuneops wrote: skipped
                read.scores[(key, Scoring(score["dataset"], score["metric"]))] = float(value)
        elif promoted := _PROMOTED.fullmatch(rest):
            read.promoted.setdefault(key, set()).add(promoted["channel"])

    def read(self) -> tuple[Records, Evaluations]:
        """Everything recorded for the project, in one list call."""
        read = self._sort(self._bucket.listing(f"{self._prefix}/"))
        return Records.of(read.facts), Evaluations(
            scores=read.scores, channels=read.channels,
            promoted={key: frozenset(channels) for key, channels in read.promoted.items()})

    def write(self, key: Key, fact: str, value: str) -> None:
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
            # Its reply may be lost after all: what is recorded decides.
            recorded = self.read_score(key, scoring)
            if recorded is None:
                raise
            return recorded
        if written is not None:
            return score
        recorded = self.read_score(key, scoring)
        if recorded is None:
            raise BackendError(f"{uri}: another apply is recording this score; run apply "
                               "again")
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
