"""Starts the emulator: a Vertex AI gRPC server plus a GCS emulator sharing one state_dir."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc

from reconciler.emulator.all_services import SERVICES
from reconciler.emulator.gcs import ObjectReader, StorageServer, start_storage
from reconciler.emulator.rpc import generic_handler
from reconciler.emulator.service import Context
from reconciler.emulator.store import EmulatorStore

_GRPC_WORKERS = 16


class Emulator:
    """A running emulator; stop it with `stop()` or use it as a context manager."""

    def __init__(
        self,
        *,
        store: EmulatorStore,
        api_endpoint: str,
        storage_endpoint: str,
        grpc_server: Any,
        storage_server: StorageServer,
    ) -> None:
        self.store = store
        self.api_endpoint = api_endpoint  # "host:port", for grpc.insecure_channel
        self.storage_endpoint = storage_endpoint  # "http://host:port", for storage.Client
        self._grpc_server = grpc_server
        self._storage_server = storage_server

    def lose_storage_responses(self, prefix: str, count: int = 1) -> None:
        """Commits the next `count` uploads of objects under `prefix` (a name in the bucket,
        e.g. "staging/leases/"), then loses their replies: for tests of lost responses."""
        self._storage_server.lose_responses(prefix, count)

    def stop(self) -> None:
        self._grpc_server.stop(grace=None).wait()
        self._storage_server.stop()

    def wait(self) -> None:
        """Blocks until the gRPC server terminates (or KeyboardInterrupt)."""
        self._grpc_server.wait_for_termination()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_emulator(
    state_dir: Path,
    *,
    port: int = 0,
    job_seconds: float = 30.0,
    host: str = "127.0.0.1",
    storage_port: int = 0,
) -> Emulator:
    """Starts both servers on `host` (port 0: a free port) and returns once they accept calls.

    `job_seconds` is how long jobs created through this server take (PENDING for the first
    10%). It is recorded on each job at creation, so a job keeps its schedule even when a
    server started with another value, or a bare EmulatorStore, advances it later.
    """
    if job_seconds <= 0:
        raise ValueError(f"job_seconds must be positive, got {job_seconds}")
    state_dir = state_dir.resolve()
    store = EmulatorStore(state_dir)
    storage_server, storage_endpoint = start_storage(state_dir / "storage", host, storage_port)
    try:
        context = Context(store, ObjectReader(storage_server.store), job_seconds)
        server = grpc.server(
            ThreadPoolExecutor(max_workers=_GRPC_WORKERS, thread_name_prefix="emulator-grpc"),
            handlers=[generic_handler(name, methods, store)
                      for service in SERVICES for name, methods in service.serve(context)],
        )
        bound_port = server.add_insecure_port(f"{host}:{port}")
        if not bound_port:
            raise RuntimeError(f"emulator: cannot bind gRPC port {host}:{port}")
        server.start()
    except BaseException:
        storage_server.stop()
        raise
    return Emulator(
        store=store,
        api_endpoint=f"{host}:{bound_port}",
        storage_endpoint=storage_endpoint,
        grpc_server=server,
        storage_server=storage_server,
    )


def serve(state_dir: Path, port: int, job_seconds: float, storage_port: int = 0) -> None:
    """Runs the emulator in the foreground until Ctrl-C, printing its endpoints."""
    emulator = start_emulator(
        state_dir, port=port, job_seconds=job_seconds, storage_port=storage_port
    )
    print(f"Vertex AI emulator (gRPC): {emulator.api_endpoint}", flush=True)
    print(f"GCS emulator (HTTP):       {emulator.storage_endpoint}", flush=True)
    print(f"State directory:           {state_dir.resolve()}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    try:
        emulator.wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
