"""objects.get (metadata and media), list, delete and patch."""

from __future__ import annotations

import base64
import binascii
import re

from reconciler.emulator.gcs import errors
from reconciler.emulator.gcs.messages import Request, Response, json_response
from reconciler.emulator.gcs.preconditions import PARAMETERS, Preconditions
from reconciler.emulator.gcs.resources import ObjectRow
from reconciler.emulator.gcs.store import GcsStore, MetadataPatch

_TARGET = PARAMETERS | {"generation"}
_MAX_RESULTS = 1000  # the service's default and maximum page size
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_PATCH_FIELDS = frozenset({"contentType", "metadata"})


def get(store: GcsStore, request: Request, bucket: str, name: str) -> Response:
    request.allow(_TARGET)
    pre = Preconditions.from_query(request.query)
    generation = request.integer("generation")
    if request.query.get("alt") == "media":
        return _media(store, request, bucket, name, generation=generation, pre=pre)
    row = store.get_object(bucket, name, generation, pre)
    return json_response(row.resource(request.base_url))


def list_objects(store: GcsStore, request: Request, bucket: str) -> Response:
    request.allow({"prefix", "pageToken", "maxResults", "versions"})
    if request.query.get("versions", "false") != "false":
        raise errors.unsupported("versions=true (object versioning)")
    limit = request.integer("maxResults") or _MAX_RESULTS
    if limit < 0:
        raise errors.invalid("Invalid value for maxResults", "maxResults")
    rows, last = store.list_objects(bucket, request.query.get("prefix", ""),
                                    _decode_token(request.query.get("pageToken")),
                                    min(limit, _MAX_RESULTS))
    page: dict[str, object] = {"kind": "storage#objects",
                               "items": [row.resource(request.base_url) for row in rows]}
    if last is not None:
        page["nextPageToken"] = base64.urlsafe_b64encode(last.encode()).decode()
    return json_response(page)


def delete(store: GcsStore, request: Request, bucket: str, name: str) -> Response:
    request.allow(_TARGET)
    store.delete_object(bucket, name, request.integer("generation"),
                        Preconditions.from_query(request.query))
    return Response(204)


def patch(store: GcsStore, request: Request, bucket: str, name: str) -> Response:
    request.allow(_TARGET)
    body = request.body.json()
    unknown = sorted(set(body) - _PATCH_FIELDS)
    if unknown:
        raise errors.unsupported(f"patching object fields {unknown}")
    content_type = body.get("contentType")
    metadata = body.get("metadata")
    if content_type is not None and not isinstance(content_type, str):
        raise errors.invalid("contentType must be a string", "contentType")
    if metadata is not None and not (
        isinstance(metadata, dict)
        and all(isinstance(value, str | None) for value in metadata.values())
    ):
        raise errors.invalid("metadata must map strings to strings or null", "metadata")
    change = MetadataPatch(content_type, metadata,
                           clear_metadata="metadata" in body and metadata is None)
    row = store.patch_object(bucket, name, request.integer("generation"),
                             Preconditions.from_query(request.query), change)
    return json_response(row.resource(request.base_url))


def _media(store: GcsStore, request: Request, bucket: str, name: str, *,
           generation: int | None, pre: Preconditions) -> Response:
    row, stream = store.open_object(bucket, name, generation, pre)
    headers = _media_headers(row)
    try:
        span = _range(request.header("Range"), row.size)
    except BaseException:
        stream.close()
        raise
    if span is None:
        return Response(200, headers, stream=stream, length=row.size)
    start, end = span
    stream.seek(start)
    headers["Content-Range"] = f"bytes {start}-{end}/{row.size}"
    return Response(206, headers, stream=stream, length=end - start + 1)


def _media_headers(row: ObjectRow) -> dict[str, str]:
    # The client checks the body against x-goog-hash (crc32c by default) after a full download.
    return {
        "Content-Type": row.content_type,
        "x-goog-hash": f"crc32c={row.crc32c},md5={row.md5}",
        "x-goog-generation": str(row.generation),
        "x-goog-metageneration": str(row.metageneration),
        "x-goog-stored-content-length": str(row.size),
        "x-goog-stored-content-encoding": "identity",
        "Accept-Ranges": "bytes",
    }


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte span a single-range Range header asks for; None for the whole."""
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        raise errors.unsupported(f"Range header {header!r} (only one bytes=a-b range)")
    first, last = match.groups()
    if first == "":  # a suffix: the last N bytes
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start > end or start >= size:
        if size == 0:
            return None  # nothing to slice: the whole (empty) object
        raise errors.GcsError(416, f"Requested range not satisfiable: {header}")
    return start, end


def _decode_token(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise errors.invalid(f"Invalid pageToken: {token!r}", "pageToken") from None
