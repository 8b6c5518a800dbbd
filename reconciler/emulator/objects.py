"""Reads gs:// objects from the storage emulator over HTTP, as a real client would.

gcp-storage-emulator keeps its object index in memory and reads `{data_dir}/.cloudstorage/.meta`
only at start-up, so a server sees objects uploaded through it, plus everything uploaded by any
process before it started; it does not see uploads made through another process's server after
it started. Asking this process's own server therefore matches what its clients can read.
"""

from __future__ import annotations

from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud.storage import Client


class GcsObjectReader:
    """Callable `uri -> bytes | None` (None: no such object) against the storage emulator."""

    def __init__(self, endpoint: str) -> None:
        self._client = Client(
            # google.auth leaves this constructor unannotated.
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            project="emulator",
            client_options={"api_endpoint": endpoint},
        )

    def __call__(self, uri: str) -> bytes | None:
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        try:
            return bytes(self._client.bucket(bucket).blob(name).download_as_bytes())
        except exceptions.NotFound:
            return None
