"""Maps a request's method and path to the API method; everything else is a clear 501."""

from __future__ import annotations

from urllib.parse import unquote

from reconciler.emulator.gcs import buckets, errors, objects, uploads
from reconciler.emulator.gcs.messages import Request, Response
from reconciler.emulator.gcs.sessions import Sessions
from reconciler.emulator.gcs.store import GcsStore


def dispatch(store: GcsStore, sessions: Sessions, request: Request) -> Response:
    # Object names arrive percent-encoded with "/" as %2F; joining the remaining raw segments
    # before decoding also accepts names whose slashes were left unencoded.
    match request.method, request.segments:
        case "POST", ("storage", "v1", "b"):
            return buckets.insert(store, request)
        case "GET", ("storage", "v1", "b", bucket):
            return buckets.get(store, request, unquote(bucket))
        case "GET", ("storage", "v1", "b", bucket, "o"):
            return objects.list_objects(store, request, unquote(bucket))
        case "GET", ("storage", "v1", "b", bucket, "o", *name) if name:
            return objects.get(store, request, unquote(bucket), unquote("/".join(name)))
        case "DELETE", ("storage", "v1", "b", bucket, "o", *name) if name:
            return objects.delete(store, request, unquote(bucket), unquote("/".join(name)))
        case "PATCH", ("storage", "v1", "b", bucket, "o", *name) if name:
            return objects.patch(store, request, unquote(bucket), unquote("/".join(name)))
        case "GET", ("download", "storage", "v1", "b", bucket, "o", *name) if name:
            if request.query.get("alt") != "media":
                raise errors.invalid("the download endpoint needs alt=media", "alt")
            return objects.get(store, request, unquote(bucket), unquote("/".join(name)))
        case "POST", ("upload", "storage", "v1", "b", bucket, "o"):
            return uploads.insert(store, sessions, request, unquote(bucket))
        case "PUT", ("upload", "storage", "v1", "b", bucket, "o"):
            return uploads.resumable_chunk(sessions, request, unquote(bucket))
    raise errors.unsupported(f"{request.method} /{'/'.join(request.segments)}")
