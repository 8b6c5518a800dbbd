"""Cloud Storage at the edge: content-addressed dataset uploads through google-cloud-storage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.core.desired import GCS_SCHEME
from reconciler.errors import BackendError


@dataclass(frozen=True)
class Lease:
    """A small JSON object whose generation number says who wrote it last."""

    body: dict[str, Any]
    generation: int


@dataclass(frozen=True)
class Listed:
    """An object as a list call returns it: its name, generation and custom metadata."""

    uri: str
    generation: int
    metadata: dict[str, str]


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, name = uri.removeprefix(GCS_SCHEME).partition("/")
    return bucket, name


@contextmanager
def _errors(what: str) -> Iterator[None]:
    from google.api_core.exceptions import GoogleAPICallError, RetryError  # noqa: PLC0415

    try:
        yield
    except GoogleAPICallError as error:
        raise BackendError(f"{what}: {error.message}") from None
    except RetryError as error:
        raise BackendError(f"{what}: gave up after retries: {error.cause}") from None
    except OSError as error:
        raise BackendError(f"{what}: {error}") from None


@dataclass
class Storage:
    """A thin wrapper so the rest of tuneops never imports the storage SDK."""

    client: Any

    @classmethod
    def connect(cls, project: str, endpoint: str | None = None) -> Storage:
        from google.cloud.storage import Client  # noqa: PLC0415

        if endpoint is None:
            return cls(Client(project=project))
        from google.auth.credentials import AnonymousCredentials  # noqa: PLC0415

        anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
        return cls(Client(project=project, credentials=anonymous,
                          client_options={"api_endpoint": endpoint}))

    def exists(self, uri: str) -> bool:
        bucket, name = split_uri(uri)
        with _errors(f"checking {uri}"):
            return bool(self.client.bucket(bucket).blob(name).exists())

    def version(self, uri: str) -> str | None:
        """Generation and checksums from object metadata: no byte of the object is read."""
        from google.api_core.exceptions import NotFound  # noqa: PLC0415

        bucket, name = split_uri(uri)
        with _errors(f"reading metadata of {uri}"):
            try:
                blob = self.client.bucket(bucket).get_blob(name)
            except NotFound:
                return None
        if blob is None:
            return None
        return f"{blob.generation}:{blob.crc32c}:{blob.md5_hash}"

    def download(self, uri: str, destination: Path) -> None:
        bucket, name = split_uri(uri)
        with _errors(f"downloading {uri}"):
            self.client.bucket(bucket).blob(name).download_to_filename(str(destination))

    def ensure_bucket(self, uri: str) -> None:
        """Only for the emulator, which starts empty; a real staging bucket is the user's."""
        bucket, _ = split_uri(uri)
        from google.api_core.exceptions import Conflict  # noqa: PLC0415

        with _errors(f"creating bucket {bucket}"):
            if self.client.lookup_bucket(bucket) is None:
                with suppress(Conflict):  # a concurrent run created it first
                    self.client.create_bucket(bucket)

    def upload(self, path: Path, uri: str) -> bool:
        """Creates the object from `path` unless it exists (False then): staged objects are
        named by their content, so an existing one never changes. Callers check exists()
        first to spare the bytes; this stays right when two uploads race."""
        bucket, name = split_uri(uri)
        blob = self.client.bucket(bucket).blob(name)
        from google.api_core.exceptions import PreconditionFailed  # noqa: PLC0415

        with _errors(f"uploading {path} to {uri}"):
            try:
                # if_generation_match=0: of two racing uploads of the same content, one writes.
                blob.upload_from_filename(str(path), content_type="application/jsonl",
                                          if_generation_match=0)
            except PreconditionFailed:
                return False
        return True

    def write_if(self, uri: str, body: dict[str, Any], generation: int,
                 metadata: dict[str, str] | None = None) -> int | None:
        """Writes `body` only if the object's generation is `generation` (0: only if it does
        not exist): the new generation, or None when another writer came first.

        Cloud Storage enforces this atomically (ifGenerationMatch, "Request preconditions"),
        which is what makes a lease: of racing writers exactly one succeeds. `metadata`
        becomes the object's custom metadata, which a list call returns without a read.
        """
        from google.api_core.exceptions import PreconditionFailed  # noqa: PLC0415

        bucket, name = split_uri(uri)
        blob = self.client.bucket(bucket).blob(name)
        if metadata:
            blob.metadata = metadata
        with _errors(f"writing {uri}"):
            try:
                blob.upload_from_string(json.dumps(body), content_type="application/json",
                                        if_generation_match=generation)
            except PreconditionFailed:
                return None
        return int(blob.generation)

    def delete(self, uri: str) -> None:
        """Deletes one object (gone already is fine)."""
        from google.api_core.exceptions import NotFound  # noqa: PLC0415

        bucket, name = split_uri(uri)
        with _errors(f"deleting {uri}"), suppress(NotFound):
            self.client.bucket(bucket).blob(name).delete()

    def listing(self, prefix: str) -> list[Listed]:
        """Every object under `prefix` (a gs:// URI), with its custom metadata: one paginated
        list call, no object read."""
        bucket, name = split_uri(prefix)
        with _errors(f"listing {prefix}"):
            return [Listed(f"{GCS_SCHEME}{bucket}/{blob.name}", int(blob.generation),
                           dict(blob.metadata or {}))
                    for blob in self.client.list_blobs(bucket, prefix=name)]

    def read_lease(self, uri: str) -> Lease | None:
        from google.api_core.exceptions import NotFound  # noqa: PLC0415

        bucket, name = split_uri(uri)
        with _errors(f"reading {uri}"):
            try:
                blob = self.client.bucket(bucket).get_blob(name)
                if blob is None:
                    return None
                data = blob.download_as_bytes(if_generation_match=blob.generation)
            except NotFound:
                return None
        try:
            body = json.loads(data)
        except ValueError:
            body = {}
        return Lease(body if isinstance(body, dict) else {}, int(blob.generation))
