"""Records of runs in the staging bucket: what their immutable labels cannot say.

One small object per run and fact, `{staging}/records/{project id}/{location}/{kind}/{name}/
{fingerprint}/{attempt}/{fact}`, its value in the object's custom metadata so that one list
call under the project's prefix reads them all. Each is written with a generation
precondition (created only if absent, replaced only if unchanged since read), so of two
applies recording different values one wins and the other says so.

Why the bucket, and not the Model's labels: a record exists for every run, also one whose
Model is gone or was never labelled, and whether UpdateModel may change a tuned Gemini
Model's labels is undocumented. The labels are updated too where the service allows it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Protocol

from reconciler.backends import leases
from reconciler.core.identity import Records, RunKey
from reconciler.edges.storage import Listed
from reconciler.errors import BackendError

VALUE = "value"
# Read, then write conditioned on what was read: a concurrent writer costs one more round.
WRITE_ROUNDS = 3


class Bucket(leases.Bucket, Protocol):
    """Listing too (reconciler.edges.storage.Storage)."""

    def listing(self, prefix: str) -> list[Listed]: ...


class RecordStore:
    def __init__(self, bucket: Bucket, prefix: str) -> None:
        self._bucket = bucket
        self._prefix = prefix

    def _facts(self, listed: list[Listed]) -> Iterator[tuple[RunKey, str, str]]:
        for found in listed:
            path, _, fact = found.uri.removeprefix(f"{self._prefix}/").rpartition("/")
            key = RunKey.parse(path)
            if key is not None:
                yield key, fact, found.metadata.get(VALUE, "")

    def read(self) -> Records:
        return Records.of(self._facts(self._bucket.listing(f"{self._prefix}/")))

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
