"""A Cloud Storage JSON API emulator: SQLite metadata, content files, generation preconditions.

Only what google-cloud-storage needs for tuneops: buckets insert/get; objects insert (media,
multipart, resumable), get (metadata and media), list, delete, patch; with ifGenerationMatch
and friends enforced atomically across threads and processes sharing a state dir.
"""

from __future__ import annotations

from reconciler.emulator.gcs.lookup import ObjectReader
from reconciler.emulator.gcs.server import StorageServer, start_storage
from reconciler.emulator.gcs.store import GcsStore

__all__ = ["GcsStore", "ObjectReader", "StorageServer", "start_storage"]
