"""Reads a gs:// object straight from the store the storage servers share.

Every server on a state dir reads the same SQLite file and content files, so the Vertex AI
emulator asks the store instead of making an HTTP call to its own storage server, and still
sees what any process uploaded, whenever it did.
"""

from __future__ import annotations

from typing import BinaryIO

from reconciler.emulator.gcs import errors
from reconciler.emulator.gcs.preconditions import Preconditions
from reconciler.emulator.gcs.store import GcsStore


class ObjectReader:
    """Callable `uri -> BinaryIO | None`: the object's bytes as an open stream, for the caller
    to read as it goes and close (None: no such object or bucket). A dataset of a gigabyte
    is never held in memory whole."""

    def __init__(self, store: GcsStore) -> None:
        self._store = store

    def __call__(self, uri: str) -> BinaryIO | None:
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        try:
            _, stream = self._store.open_object(bucket, name, None, Preconditions())
        except errors.GcsError as error:
            if error.code == 404:
                return None
            raise
        return stream
