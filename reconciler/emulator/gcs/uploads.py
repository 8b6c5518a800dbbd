"""objects.insert through the upload endpoint: uploadType=media, multipart and resumable."""

from __future__ import annotations

import re
from typing import Any

from reconciler.emulator.gcs import errors, multipart
from reconciler.emulator.gcs.content import discard
from reconciler.emulator.gcs.messages import Request, Response, json_response
from reconciler.emulator.gcs.preconditions import PARAMETERS, Preconditions
from reconciler.emulator.gcs.sessions import ObjectSpec, Sessions, verify
from reconciler.emulator.gcs.store import GcsStore

_DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Object fields accepted on insert; others (ACLs, holds, KMS keys...) are not modelled.
_OBJECT_FIELDS = frozenset({"name", "bucket", "contentType", "metadata", "crc32c", "md5Hash"})
_CONTENT_RANGE = re.compile(r"bytes (?:\*|(\d+)-(\d+))/(\*|\d+)")
_HASH_NAMES = {"crc32c": "crc32c", "md5": "md5Hash"}


def insert(store: GcsStore, sessions: Sessions, request: Request, bucket: str) -> Response:
    request.allow(PARAMETERS | {"uploadType", "name"})
    pre = Preconditions.from_query(request.query)
    upload_type = request.query.get("uploadType")
    if upload_type == "media":
        spec = _spec({}, request.query.get("name"), request.header("Content-Type"))
        staged = store.files.stage_stream(request.body, request.body.length)
    elif upload_type == "multipart":
        metadata, media_type, data = multipart.split(
            request.header("Content-Type") or "", request.body.read_all())
        spec = _spec(metadata, request.query.get("name"), media_type)
        staged = store.files.stage_bytes(data)
    elif upload_type == "resumable":
        spec = _spec(request.body.json(), request.query.get("name"),
                     request.header("X-Upload-Content-Type"))
        session_id = sessions.begin(bucket, spec, pre)
        location = (f"{request.base_url}/upload/storage/v1/b/{bucket}/o"
                    f"?uploadType=resumable&upload_id={session_id}")
        return Response(200, {"Location": location})
    else:
        raise errors.unsupported(f"uploadType={upload_type}")
    try:
        verify(spec.expected, staged.digests)
    except errors.GcsError:
        discard(staged.path)
        raise
    row = store.put_object(bucket, spec.name, staged, content_type=spec.content_type,
                           metadata=spec.metadata, pre=pre)
    return json_response(row.resource(request.base_url))


def resumable_chunk(sessions: Sessions, request: Request, bucket: str) -> Response:
    """A PUT to a session URL: a chunk, the final chunk, or a status query (`bytes */*`)."""
    request.allow({"uploadType", "upload_id"})
    session = sessions.load(request.query.get("upload_id", ""), bucket)
    if session.result is not None:  # finished: answer as the final chunk did
        return json_response(session.result)
    first, last, total = _content_range(request)
    if first is None:
        if request.body.length:
            raise errors.invalid("Content-Range bytes */N must come with an empty body")
    else:
        if last - first + 1 != request.body.length:
            raise errors.invalid("Content-Range does not match the body's length")
        session = sessions.append(session, first, request.body)
    if total is not None and session.received > total:
        raise errors.invalid(f"received {session.received} bytes, more than the total {total}")
    if total is not None and session.received == total:
        row = sessions.finish(session, _declared(request.header("x-goog-hash")),
                              request.base_url)
        return json_response(row.resource(request.base_url))
    # 308 "Resume Incomplete": the client continues after the last byte named in Range.
    headers = {"Range": f"bytes=0-{session.received - 1}"} if session.received else {}
    return Response(308, headers)


def _spec(body: dict[str, Any], query_name: str | None, media_type: str | None) -> ObjectSpec:
    unknown = sorted(set(body) - _OBJECT_FIELDS)
    if unknown:
        raise errors.unsupported(f"object fields {unknown}")
    name = body.get("name") or query_name
    if not isinstance(name, str) or not name:
        raise errors.invalid("Required: object name", "name")
    content_type = body.get("contentType") or media_type or _DEFAULT_CONTENT_TYPE
    metadata = body.get("metadata")
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    ):
        raise errors.invalid("metadata must map strings to strings", "metadata")
    expected: dict[str, str] = {key: str(body[key]) for key in ("crc32c", "md5Hash") if key in body}
    return ObjectSpec(name, str(content_type), metadata or None, expected)


def _content_range(request: Request) -> tuple[int | None, int, int | None]:
    header = request.header("Content-Range")
    if header is None:  # the whole object in one request
        return 0, request.body.length - 1, request.body.length
    match = _CONTENT_RANGE.fullmatch(header.strip())
    if match is None:
        raise errors.invalid(f"Invalid Content-Range: {header!r}")
    first, last, total = match.groups()
    return (None if first is None else int(first), int(last or -1),
            None if total == "*" else int(total))


def _declared(header: str | None) -> dict[str, str]:
    """Checksums from an x-goog-hash header ("crc32c=...,md5=...") in JSON field names."""
    declared: dict[str, str] = {}
    for item in (header or "").split(","):
        label, equals, value = item.strip().partition("=")
        if equals and label in _HASH_NAMES:
            declared[_HASH_NAMES[label]] = value
    return declared
