"""Where observing and applying happen: Vertex AI, a running emulator, or an embedded one.

With no `project` in configs/reconciler.yaml the emulator is started in-process, with its
state under .reconciler/, so a laptop sees the whole product work without a GCP account.
"""

from __future__ import annotations

import math
import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from reconciler.backends.pacing import Pacer
from reconciler.backends.vertex import VertexBackend
from reconciler.core.desired import Target
from reconciler.edges.storage import Storage
from reconciler.errors import TuneopsError, display_path
from reconciler.layout import STATE_DIR
from reconciler.load.writes import own_directory

API_ENDPOINT_ENV = "TUNEOPS_API_ENDPOINT"
STORAGE_ENDPOINT_ENV = "TUNEOPS_STORAGE_ENDPOINT"
JOB_SECONDS_ENV = "TUNEOPS_EMULATOR_JOB_SECONDS"
DEFAULT_JOB_SECONDS = 10.0
# How long a TUNEOPS_*_ENDPOINT may take to accept a connection.
REACH_SECONDS = 5.0


@dataclass(frozen=True)
class Connection:
    backend: VertexBackend
    storage: Storage
    where: str
    # How often `apply --wait` polls: real tuning takes hours, emulated jobs seconds.
    poll_seconds: float = 0.5


GRPC_VERBOSITY_ENV = "GRPC_VERBOSITY"


def quiet_grpc() -> None:
    """gRPC's C core writes log lines to stderr by itself ("Got goaway ... UNAVAILABLE" when
    a connection closes, at random): tuneops reports every failure itself, so the core says
    nothing unless GRPC_VERBOSITY asks. The core reads it once, when grpc is imported, so
    this runs before anything that imports grpc: the emulator, the clients."""
    os.environ.setdefault(GRPC_VERBOSITY_ENV, "NONE")


EMULATOR_STATE = f"{STATE_DIR}/emulator"


def emulator_state_dir(root: Path) -> Path:
    return root / EMULATOR_STATE


def checked_state_dir(root: Path) -> Path:
    """The emulator's state directory, through the write gate: the emulator imports nothing
    of tuneops, so it gets a directory where no committed link can lead its writes out."""
    return own_directory(root, EMULATOR_STATE, tree=True)


def _job_seconds() -> float:
    raw = os.environ.get(JOB_SECONDS_ENV, "")
    try:
        seconds = float(raw) if raw else DEFAULT_JOB_SECONDS
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise TuneopsError(f"{JOB_SECONDS_ENV}={raw!r}: expected a positive number of seconds")
    return seconds


@contextmanager
def _closing(backend: VertexBackend) -> Iterator[VertexBackend]:
    try:
        yield backend
    finally:
        backend.close()


def _backend(target: Target, storage: Storage, endpoint: str | None = None) -> VertexBackend:
    # Launch leases and records of runs live beside the staged datasets, in the bucket
    # tuneops already writes, each under the project's own prefix.
    # Submissions to Vertex AI are paced under its request quota; an emulator (`endpoint`)
    # is not, so tests and benchmarks stay fast.
    pacer = Pacer(target.submissions_per_minute) if endpoint is None else None
    return VertexBackend(target.project, endpoint, bucket=storage,
                         staging=target.staging_bucket, pacer=pacer)


def _damaged(state: Path) -> Path | None:
    """The first of the emulator's SQLite files (Vertex AI's, Cloud Storage's) that SQLite
    cannot read, found by asking each: the error itself does not name its file."""
    for database in sorted(state.rglob("*.sqlite")):
        try:
            with closing(sqlite3.connect(database)) as conn:
                conn.execute("PRAGMA schema_version").fetchone()
        except sqlite3.OperationalError:
            continue  # locked or unopenable: not what damage looks like
        except sqlite3.DatabaseError:
            return database
    return None


@contextmanager
def readable_state(root: Path) -> Iterator[None]:
    """A damaged emulator database is the user's to reset: say which and how."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        state = emulator_state_dir(root)
        damaged = _damaged(state)
        if damaged is None:
            raise TuneopsError(f"the emulator's state in {display_path(state, root)} cannot be "
                               f"used: {error}") from None
        raise TuneopsError(f"{display_path(damaged, root)} is not a readable emulator database "
                           f"({error}); remove {display_path(state, root)} to start the "
                           "emulator afresh (its emulated jobs and Models are lost)") from None


@contextmanager
def _credentials_explained() -> Iterator[None]:
    """Clients find credentials lazily, anywhere in a command: say how to provide them."""
    from google.auth.exceptions import DefaultCredentialsError  # noqa: PLC0415

    try:
        yield
    except DefaultCredentialsError:
        raise TuneopsError(
            "no Google Cloud credentials found: run `gcloud auth application-default login`, "
            "or set GOOGLE_APPLICATION_CREDENTIALS (in GitHub Actions, the auth step of the "
            "workflows); without a `project` in configs/reconciler.yaml tuneops uses its "
            "emulator") from None


def _reachable(variable: str, endpoint: str) -> None:
    """A running emulator answers at once: fail in seconds, naming the endpoint, instead of
    retrying calls to a closed port for a minute."""
    where = urlsplit(endpoint if "//" in endpoint else f"//{endpoint}")
    try:
        port = where.port
        if not where.hostname or port is None:
            raise ValueError("expected host:port")
        with socket.create_connection((where.hostname, port), timeout=REACH_SECONDS):
            pass
    except ValueError as error:
        raise TuneopsError(f"{variable}={endpoint!r} is not an endpoint: {error}") from None
    except OSError as error:
        why = error.strerror or str(error) or type(error).__name__
        raise TuneopsError(f"nothing answers at {variable}={endpoint} ({why}); start it with "
                           "`reconcile emulator serve`, or unset the variable") from None


@contextmanager
def connect(target: Target, root: Path) -> Iterator[Connection]:
    quiet_grpc()
    api_endpoint = os.environ.get(API_ENDPOINT_ENV)
    storage_endpoint = os.environ.get(STORAGE_ENDPOINT_ENV)
    if api_endpoint:
        _reachable(API_ENDPOINT_ENV, api_endpoint)
        if storage_endpoint:
            _reachable(STORAGE_ENDPOINT_ENV, storage_endpoint)
        storage = Storage.connect(target.project, storage_endpoint)
        if storage_endpoint:
            storage.ensure_bucket(target.staging_bucket)
        with _closing(_backend(target, storage, api_endpoint)) as backend:
            yield Connection(backend, storage, f"emulator at {api_endpoint}")
        return
    if not target.local:
        with _credentials_explained():
            storage = Storage.connect(target.project)
            with _closing(_backend(target, storage)) as backend:
                yield Connection(backend, storage, f"project {target.project}",
                                 poll_seconds=60.0)
        return
    from reconciler.emulator import start_emulator  # noqa: PLC0415

    job_seconds = _job_seconds()
    with readable_state(root), start_emulator(checked_state_dir(root),
                                              job_seconds=job_seconds) as emulator:
        storage = Storage.connect(target.project, emulator.storage_endpoint)
        storage.ensure_bucket(target.staging_bucket)
        with _closing(_backend(target, storage, emulator.api_endpoint)) as backend:
            yield Connection(backend, storage, f"embedded emulator ({STATE_DIR}/emulator)")
