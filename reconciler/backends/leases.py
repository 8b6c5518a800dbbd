"""Launch leases in the staging bucket: of the applies racing to create one run, one does.

CreateTuningJobRequest has only `parent` and `tuning_job`: the service picks the id, so
nothing it does stops a second create of the same run. A lease does, as far as a lease can:
an object named after the run (project, location, kind, name, fingerprint, attempt), created
only if absent (Cloud Storage's ifGenerationMatch=0). Its holder renews it while it works,
each write conditioned on the generation it wrote last, and checks that it still holds it
right before the create; a lease left unrenewed for LEASE_SECONDS (its holder died or
stalled) is taken over. Every write carries the holder's id and a nonce, so a write whose
response was lost is recognised as this apply's own, not waited on as another's.

A holder stalled inside the create itself can still be overtaken; TuningJobs therefore
looks for an older twin after every create, and the planner for twins in every plan.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from reconciler.core.observed import ObservedJob
from reconciler.core.runkey import RunKey
from reconciler.edges.storage import Lease
from reconciler.errors import BackendError, TuneopsError

LEASE_SECONDS_ENV = "TUNEOPS_LEASE_SECONDS"
# How long an unrenewed lease is honoured: far longer than any create takes.
DEFAULT_LEASE_SECONDS = 300.0
LEASE_WAIT_ENV = "TUNEOPS_LEASE_WAIT_SECONDS"
# How long an apply that lost the race waits for the winner's job to appear.
DEFAULT_LEASE_WAIT_SECONDS = 60.0
# Renewals per lease period: a holder that misses one still holds its lease.
BEATS_PER_LEASE = 3
MIN_BEAT_SECONDS = 0.05


class Bucket(Protocol):
    """Conditional writes to Cloud Storage (reconciler.edges.storage.Storage)."""

    def write_if(self, uri: str, body: dict[str, Any], generation: int,
                 metadata: dict[str, str] | None = None) -> int | None: ...

    def read_lease(self, uri: str) -> Lease | None: ...


def seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise BackendError(f"{name}={raw!r} is not a number of seconds") from None
    if value < 0:
        raise BackendError(f"{name}={raw!r} must not be negative")
    return value


class Hold:
    """A lease this apply holds, renewed in the background until it records its job."""

    def __init__(self, leases: Leases, uri: str, generation: int, interval: float) -> None:
        self._leases = leases
        self.uri = uri
        self._generation = generation
        self._interval = interval
        # When this apply last wrote the lease (time.monotonic()).
        self._written = time.monotonic()
        self._lost = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Hold:
        if self._interval > 0:
            self._thread = threading.Thread(target=self._renew, name="tuneops-lease",
                                            daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._halt()

    def _halt(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _renew(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                if self._lost:
                    return
                try:
                    written = self._leases.write(self.uri, self._leases.body(),
                                                 self._generation)
                except TuneopsError:
                    continue  # storage hiccup: the check before the create decides
                if written is None:
                    self._lost = True  # another apply took it over
                    return
                self._generation = written
                self._written = time.monotonic()

    def held(self) -> bool:
        """Whether no other apply has taken the lease over: read again, unless this apply
        wrote it less than one renewal interval ago. Another apply takes a lease over only
        once it has gone unrenewed for BEATS_PER_LEASE intervals, so a lease written since
        cannot have been taken (unless the two machines' clocks differ by more than the
        intervals between: the look for a twin after the create covers that, as it covers a
        holder stalled in its create)."""
        with self._lock:
            if not self._lost and time.monotonic() - self._written >= self._interval:
                lease = self._leases.read(self.uri)
                self._lost = lease is None or lease.generation != self._generation
            return not self._lost

    def record(self, job: str) -> None:
        """Stops renewing and writes the job into the lease, for racing applies to adopt."""
        self._halt()
        with self._lock:
            if not self._lost:
                self._leases.write(self.uri, self._leases.body(job), self._generation)

    def release(self) -> None:
        """Stops renewing and leaves the lease stale at once: the service refused the create
        (quota, a bad request), so nothing was launched and no other apply should wait for
        this one. A release that fails to land only makes others wait out LEASE_SECONDS."""
        self._halt()
        with self._lock:
            if not self._lost:
                with contextlib.suppress(TuneopsError):
                    self._leases.write(self.uri, {**self._leases.body(), "since": 0},
                                       self._generation)
                self._lost = True


class Leases:
    """The launch leases of one project, under `{staging}/leases/{project id}/`."""

    def __init__(self, bucket: Bucket, prefix: str, *,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._bucket = bucket
        self._prefix = prefix
        self._clock = clock
        self._sleep = sleep
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def uri(self, key: RunKey) -> str:
        return f"{self._prefix}/{key.path()}"

    def body(self, job: str = "") -> dict[str, Any]:
        return {"holder": self.holder, "since": self._clock(), "job": job,
                "write": uuid.uuid4().hex}

    def read(self, uri: str) -> Lease | None:
        return self._bucket.read_lease(uri)

    def write(self, uri: str, body: dict[str, Any], generation: int) -> int | None:
        """The new generation, or None when another writer came first. A write whose
        response was lost (the client's retry then fails its own precondition) is known
        by its holder and nonce."""
        try:
            written = self._bucket.write_if(uri, body, generation)
        except TuneopsError:
            mine = self._mine(uri, body)
            if mine is None:
                raise  # not committed after all: the error stands
            return mine
        return written if written is not None else self._mine(uri, body)

    def _mine(self, uri: str, body: dict[str, Any]) -> int | None:
        """The lease's generation if its last write is `body` (this apply's), else None."""
        lease = self.read(uri)
        if lease is not None and (lease.body.get("holder"), lease.body.get("write")) == (
                body["holder"], body["write"]):
            return lease.generation
        return None

    def take(self, uri: str, what: str, find: Callable[[], ObservedJob | None],
             get: Callable[[str], ObservedJob]) -> Hold | ObservedJob:
        """The lease, held; or the job another apply launched under it."""
        deadline = time.monotonic() + seconds(LEASE_WAIT_ENV, DEFAULT_LEASE_WAIT_SECONDS)
        stale_after = seconds(LEASE_SECONDS_ENV, DEFAULT_LEASE_SECONDS)
        interval = stale_after / BEATS_PER_LEASE
        beat = interval if interval >= MIN_BEAT_SECONDS else 0.0
        delay = 0.2
        while True:
            generation = self.write(uri, self.body(), 0)
            if generation is not None:
                return Hold(self, uri, generation, beat)
            lease = self.read(uri)
            if lease is None:
                continue  # released between our two calls: try to take it again
            if lease.body.get("job"):
                return get(str(lease.body["job"]))
            found = find()
            if found is not None:
                return found
            since = float(lease.body.get("since", 0))
            if self._clock() - since > stale_after:
                # Not renewed: its holder died or stalled before creating. Take it over,
                # conditioned on the generation read, so of several takers one wins.
                taken = self.write(uri, self.body(), lease.generation)
                if taken is not None:
                    return Hold(self, uri, taken, beat)
                continue
            if time.monotonic() > deadline:
                raise BackendError(f"{what}: another apply ({lease.body.get('holder')}) holds "
                                   "the launch lease and has not launched yet; run apply "
                                   "again later")
            self._sleep(delay)  # the holder is creating the job: look again shortly
            delay = min(delay * 2, 5.0)
