"""multipart/related upload bodies: a JSON metadata part, then the media part.

The client builds them in google/cloud/storage/_media/_upload.py (construct_multipart_request)
and sends them only for objects up to 8 MiB, so the body is parsed in memory.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reconciler.emulator.gcs import errors

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


def split(content_type: str, body: bytes) -> tuple[dict[str, Any], str | None, bytes]:
    """Returns (metadata, the media part's content type, the media bytes)."""
    match = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/related") or match is None:
        raise errors.invalid("multipart upload needs Content-Type multipart/related; boundary=")
    delimiter = b"\r\n--" + match.group(1).encode()
    pieces = (b"\r\n" + body).split(delimiter)
    # preamble, metadata part, media part, "--" closing
    if len(pieces) != 4 or not pieces[3].startswith(b"--"):
        raise errors.invalid("multipart upload must have exactly two parts: metadata, media")
    _, meta_bytes = _part(pieces[1])
    media_headers, media = _part(pieces[2])
    try:
        metadata = json.loads(meta_bytes) if meta_bytes.strip() else {}
    except ValueError:
        raise errors.invalid("multipart metadata part is not JSON") from None
    if not isinstance(metadata, dict):
        raise errors.invalid("multipart metadata part is not a JSON object")
    return metadata, media_headers.get("content-type"), media


def _part(piece: bytes) -> tuple[dict[str, str], bytes]:
    head, separator, content = piece.partition(b"\r\n\r\n")
    if not separator:
        raise errors.invalid("multipart part without a blank line after its headers")
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers, content
