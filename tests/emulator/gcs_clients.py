"""Real google-cloud-storage clients for the storage emulator tests, in threads or processes.

Kept apart from the test module so a spawned process imports only this and the client.
"""

from __future__ import annotations

from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from google.api_core.exceptions import PreconditionFailed
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

WON = "won"
LOST = "412"


def client(endpoint: str) -> storage.Client:
    return storage.Client(project="emulator", credentials=AnonymousCredentials(),
                          client_options={"api_endpoint": endpoint})


def try_write(endpoint: str, bucket: str, name: str, generation: int, payload: bytes) -> str:
    """Writes `name` with if_generation_match=`generation`: WON:<new generation> or LOST."""
    blob = client(endpoint).bucket(bucket).blob(name)
    try:
        blob.upload_from_string(payload, if_generation_match=generation)
    except PreconditionFailed:
        return LOST
    return f"{WON}:{blob.generation}"


def race_in_process(endpoint: str, bucket: str, name: str, generation: int, payload: bytes,
                    barrier: Barrier, results: Any) -> None:
    """A process's entry point: build a client, wait for the others, race once."""
    blob_client = client(endpoint)
    blob_client.bucket(bucket)  # import and set up everything before the start line
    barrier.wait()
    results.put(try_write(endpoint, bucket, name, generation, payload))


def race_with_own_server(state_dir: str, bucket: str, name: str, payload: bytes,
                         barrier: Barrier, results: Any) -> None:
    """Like race_in_process, but through a server this process starts on the shared state dir."""
    from reconciler.emulator.gcs import start_storage  # noqa: PLC0415

    server, endpoint = start_storage(Path(state_dir))
    try:
        client(endpoint)
        barrier.wait()
        results.put(try_write(endpoint, bucket, name, 0, payload))
    finally:
        server.stop()
