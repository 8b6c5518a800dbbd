"""buckets.insert and buckets.get: all tuneops needs of buckets (create_bucket, lookup_bucket)."""

from __future__ import annotations

from reconciler.emulator.gcs import errors
from reconciler.emulator.gcs.messages import Request, Response, json_response
from reconciler.emulator.gcs.store import GcsStore

# Bucket fields accepted on insert; the rest (versioning, retention, lifecycle...) would change
# object semantics this emulator does not model.
_INSERT_FIELDS = frozenset({"name", "location", "storageClass"})


def insert(store: GcsStore, request: Request) -> Response:
    request.allow({"project", "predefinedAcl", "predefinedDefaultObjectAcl"})
    for unmodelled in ("predefinedAcl", "predefinedDefaultObjectAcl"):
        if unmodelled in request.query:
            raise errors.unsupported(f"query parameter {unmodelled!r} on buckets.insert")
    body = request.body.json()
    unknown = sorted(set(body) - _INSERT_FIELDS)
    if unknown:
        raise errors.unsupported(f"bucket fields {unknown}")
    name = body.get("name")
    if not isinstance(name, str):
        raise errors.invalid("Required: bucket name", "name")
    project = request.query.get("project")
    if not project:
        raise errors.invalid("Required parameter: project", "project")
    row = store.create_bucket(name, project, str(body.get("location", "US")).upper(),
                              str(body.get("storageClass", "STANDARD")))
    return json_response(row.resource(request.base_url))


def get(store: GcsStore, request: Request, bucket: str) -> Response:
    request.allow(set())
    return json_response(store.get_bucket(bucket).resource(request.base_url))
