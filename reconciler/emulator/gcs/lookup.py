"""Does a gs:// object exist? Read straight from the store the storage servers share.

Every server on a state dir reads the same SQLite file, so the Vertex AI emulator can ask the
store instead of making an HTTP call to its own storage server, and still see what any process
uploaded, whenever it did.
"""

from __future__ import annotations

from reconciler.emulator.gcs import errors
from reconciler.emulator.gcs.preconditions import Preconditions
from reconciler.emulator.gcs.store import GcsStore


class ObjectExists:
    """Callable `uri -> bool`, the drop-in for reconciler.emulator.objects.GcsObjectExists."""

    def __init__(self, store: GcsStore) -> None:
        self._store = store

    def __call__(self, uri: str) -> bool:
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        try:
            self._store.get_object(bucket, name, None, Preconditions())
        except errors.GcsError as error:
            if error.code == 404:
                return False
            raise
        return True
