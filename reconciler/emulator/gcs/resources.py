"""Stored rows and their JSON API resources (storage#bucket, storage#object)."""

from __future__ import annotations

import base64
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True)
class BucketRow:
    name: str
    project: str
    location: str
    storage_class: str
    created_us: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> BucketRow:
        return cls(row["name"], row["project"], row["location"], row["storage_class"],
                   row["created_us"])

    def resource(self, base_url: str) -> dict[str, Any]:
        created = timestamp(self.created_us)
        return {
            "kind": "storage#bucket",
            "id": self.name,
            "selfLink": f"{base_url}/storage/v1/b/{self.name}",
            "name": self.name,
            "projectNumber": "0",
            "metageneration": "1",
            "location": self.location,
            "locationType": "multi-region",
            "storageClass": self.storage_class,
            "timeCreated": created,
            "updated": created,
            "etag": "CAE=",
        }


@dataclass(frozen=True)
class ObjectRow:
    bucket: str
    name: str
    generation: int
    metageneration: int
    size: int
    md5: str
    crc32c: str
    content_type: str
    created_us: int
    updated_us: int
    metadata: dict[str, str] | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ObjectRow:
        metadata = json.loads(row["metadata"]) if row["metadata"] is not None else None
        return cls(row["bucket"], row["name"], row["generation"], row["metageneration"],
                   row["size"], row["md5"], row["crc32c"], row["content_type"],
                   row["created_us"], row["updated_us"], metadata)

    def resource(self, base_url: str) -> dict[str, Any]:
        path = f"b/{self.bucket}/o/{quote(self.name, safe='')}"
        # The service's etag is opaque; this one changes with the generation and metageneration.
        etag = base64.b64encode(f"{self.generation}/{self.metageneration}".encode()).decode()
        resource: dict[str, Any] = {
            "kind": "storage#object",
            "id": f"{self.bucket}/{self.name}/{self.generation}",
            "selfLink": f"{base_url}/storage/v1/{path}",
            "mediaLink": (f"{base_url}/download/storage/v1/{path}"
                          f"?generation={self.generation}&alt=media"),
            "name": self.name,
            "bucket": self.bucket,
            "generation": str(self.generation),
            "metageneration": str(self.metageneration),
            "contentType": self.content_type,
            "storageClass": "STANDARD",
            "size": str(self.size),
            "md5Hash": self.md5,
            "crc32c": self.crc32c,
            "etag": etag,
            "timeCreated": timestamp(self.created_us),
            "updated": timestamp(self.updated_us),
            "timeStorageClassUpdated": timestamp(self.created_us),
        }
        if self.metadata:
            resource["metadata"] = self.metadata
        return resource


def timestamp(microseconds: int) -> str:
    """RFC 3339 with milliseconds and Z, as the service writes timeCreated and updated."""
    moment = datetime.fromtimestamp(microseconds / 1_000_000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
