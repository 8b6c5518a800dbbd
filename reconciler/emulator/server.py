"""Starts the emulator: a Vertex AI gRPC server plus a GCS emulator sharing one state_dir."""

from __future__ import annotations

import contextlib
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from gcp_storage_emulator.server import create_server

from reconciler.emulator import endpoints, models, operations, pipelines, tuning
from reconciler.emulator.objects import GcsObjectReader
from reconciler.emulator.rpc import generic_handler
from reconciler.emulator.store import EmulatorStore

_STORAGE_START_TIMEOUT = 10.0
_STORAGE_PORT_ATTEMPTS = 3
_GRPC_WORKERS = 16
_KNOCK_INTERVAL = 0.05


class Emulator:
    """A running emulator; stop it with `stop()` or use it as a context manager."""

    def __init__(
        self,
        *,
        store: EmulatorStore,
        api_endpoint: str,
        storage_endpoint: str,
        grpc_server: Any,
        storage_server: Any,
        storage_address: tuple[str, int],
    ) -> None:
        self.store = store
        self.api_endpoint = api_endpoint  # "host:port", for grpc.insecure_channel
        self.storage_endpoint = storage_endpoint  # "http://host:port", for storage.Client
        self._grpc_server = grpc_server
        self._storage_server = storage_server
        self._storage_address = storage_address

    def stop(self) -> None:
        self._grpc_server.stop(grace=None).wait()
        _stop_storage(self._storage_server, self._storage_address)

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
    state_dir = state_dir.resolve()  # the storage emulator insists on an absolute data_dir
    store = EmulatorStore(state_dir)
    storage_server, bound_storage_port = _start_storage(state_dir / "storage", host, storage_port)
    storage_endpoint = f"http://{host}:{bound_storage_port}"
    try:
        reader = GcsObjectReader(storage_endpoint)
        services = (
            (pipelines.SERVICE, pipelines.PipelineService(store, reader, job_seconds)),
            (tuning.SERVICE, tuning.GenAiTuningService(store, reader, job_seconds)),
            (models.SERVICE, models.ModelService(store)),
            (endpoints.SERVICE, endpoints.EndpointService(store)),
            (operations.SERVICE, operations.OperationsService(store)),
        )
        server = grpc.server(
            ThreadPoolExecutor(max_workers=_GRPC_WORKERS, thread_name_prefix="emulator-grpc"),
            handlers=[generic_handler(name, svc.methods(), store) for name, svc in services],
        )
        bound_port = server.add_insecure_port(f"{host}:{port}")
        if not bound_port:
            raise RuntimeError(f"emulator: cannot bind gRPC port {host}:{port}")
        server.start()
    except BaseException:
        _stop_storage(storage_server, (host, bound_storage_port))
        raise
    return Emulator(
        store=store,
        api_endpoint=f"{host}:{bound_port}",
        storage_endpoint=storage_endpoint,
        grpc_server=server,
        storage_server=storage_server,
        storage_address=(host, bound_storage_port),
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


def _start_storage(data_dir: Path, host: str, port: int) -> tuple[Any, int]:
    """Starts gcp-storage-emulator; retries with a new port if a picked free port was taken."""
    attempts = _STORAGE_PORT_ATTEMPTS if port == 0 else 1
    for _ in range(attempts):
        chosen = port or _free_port(host)
        server = create_server(host, chosen, in_memory=False, data_dir=str(data_dir))
        # Server.start() waits forever if its HTTP thread fails to bind, so wait on our own
        # daemon thread with a timeout instead of calling it directly.
        starter = threading.Thread(target=server.start, daemon=True)
        starter.start()
        starter.join(_STORAGE_START_TIMEOUT)
        if not starter.is_alive():
            return server, chosen
    raise RuntimeError(f"emulator: cannot start the storage emulator on {host}:{port or 'any'}")


def _stop_storage(server: Any, address: tuple[str, int]) -> None:
    """Stops gcp-storage-emulator promptly.

    Its HTTPServer only notices a shutdown request on its next request or 0.5 s poll tick,
    which would add half a second to every emulator stop; knocking wakes it straight away.
    """
    stopper = threading.Thread(target=server.stop, daemon=True)
    stopper.start()
    while stopper.is_alive():
        with contextlib.suppress(OSError):
            socket.create_connection(address, timeout=1.0).close()
        stopper.join(_KNOCK_INTERVAL)


def _free_port(host: str) -> int:
    # Racy by nature (the port is released before the storage emulator binds it); the caller
    # retries, which is all a local test server needs.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
