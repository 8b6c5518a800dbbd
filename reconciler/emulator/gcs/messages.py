"""The HTTP request and response values the API handlers work on, free of http.server."""

from __future__ import annotations

import json
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from reconciler.emulator.gcs import errors
from reconciler.emulator.gcs.content import Readable

# Standard parameters every JSON API method takes that change nothing the emulator models.
COMMON_PARAMETERS = frozenset({"alt", "projection", "fields", "prettyPrint", "userProject",
                               "quotaUser"})
# Bodies parsed in memory (JSON metadata, multipart) are bounded; media is streamed.
MAX_IN_MEMORY_BODY = 64 << 20


class Body:
    """The request body: exactly Content-Length bytes of the connection, read at most once."""

    def __init__(self, stream: Readable, length: int) -> None:
        self._stream = stream
        self.length = length
        self.remaining = length

    def read(self, size: int = -1) -> bytes:
        size = self.remaining if size < 0 else min(size, self.remaining)
        data = self._stream.read(size) if size else b""
        self.remaining -= len(data)
        return data

    def read_all(self) -> bytes:
        if self.remaining > MAX_IN_MEMORY_BODY:
            raise errors.GcsError(413, f"request body of {self.remaining} bytes is too large "
                                       "for this upload type; use a resumable upload")
        data = self.read()
        if self.remaining:
            raise errors.invalid("request body ended early")
        return data

    def json(self) -> dict[str, Any]:
        data = self.read_all()
        if not data:
            return {}
        try:
            value = json.loads(data)
        except ValueError as error:
            raise errors.invalid(f"Parse Error: request body is not JSON ({error})") from None
        if not isinstance(value, dict):
            raise errors.invalid("Parse Error: request body is not a JSON object")
        return value


@dataclass
class Request:
    method: str
    segments: tuple[str, ...]  # the path split on "/", still percent-encoded
    query: dict[str, str]
    headers: Mapping[str, str]  # names in lower case; use header()
    body: Body
    base_url: str  # "http://host:port" as the client addressed us, for links and Location

    def allow(self, parameters: Set[str]) -> None:
        """Rejects any query parameter this method does not model: better a clear 501 than a
        silently ignored option that the real service would honour."""
        for name in self.query:
            if name not in parameters and name not in COMMON_PARAMETERS:
                raise errors.unsupported(f"query parameter {name!r} on {self.method} "
                                         f"/{'/'.join(self.segments[:5])}/...")
        if self.query.get("alt", "json") not in {"json", "media"}:
            raise errors.unsupported(f"alt={self.query['alt']}")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def integer(self, name: str) -> int | None:
        value = self.query.get(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise errors.invalid(f"Invalid value for {name}: {value!r}", name) from None


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # Streamed bodies: `length` bytes of `stream` from its current position, then closed.
    stream: BinaryIO | None = None
    length: int = 0


def json_response(value: Mapping[str, Any], status: int = 200) -> Response:
    return Response(status, {"Content-Type": "application/json; charset=UTF-8"},
                    json.dumps(value).encode())


def error_response(error: errors.GcsError) -> Response:
    if error.code == 304:  # a 304 has no body
        return Response(304)
    return json_response(error.body(), error.code)
