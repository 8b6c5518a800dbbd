"""http.server glue: turns a connection's requests into Request values and Responses into bytes."""

from __future__ import annotations

import json
import logging
from http.server import BaseHTTPRequestHandler
from io import BufferedIOBase
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from reconciler.emulator.gcs import errors, routes
from reconciler.emulator.gcs.content import CHUNK_BYTES
from reconciler.emulator.gcs.messages import Body, Request, Response, error_response

if TYPE_CHECKING:
    from reconciler.emulator.gcs.server import StorageHTTPServer

_LOG = logging.getLogger(__name__)
# Left-over body bytes up to this size are read and dropped to keep the connection usable;
# beyond it the connection is closed instead.
_DRAIN_LIMIT = 1 << 20


class StorageHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's requests.Session expects
    # Headers and body go out in separate writes; with Nagle on, the body waits for the
    # client's delayed ACK (40 ms on Linux) on every response.
    disable_nagle_algorithm = True
    server: StorageHTTPServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def _handle(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(error_response(errors.GcsError(411, "chunked request bodies are not "
                                                           "supported; send Content-Length")))
            return
        body = Body(self.rfile, int(self.headers.get("Content-Length") or 0))
        request = None
        try:
            request = self._request(body)
            response = routes.dispatch(self.server.store, self.server.sessions, request)
        except errors.GcsError as error:
            response = error_response(error)
        except ConnectionError:  # the client went away mid-body
            self.close_connection = True
            return
        except Exception as error:
            _LOG.exception("storage emulator: %s %s failed", self.command, self.path)
            response = error_response(errors.GcsError(500, f"internal error: {error!r}"))
        self._drain(body)
        self.server.store.log_request(
            self.command, self.path, _written(response) if self.command in _WRITES else "")
        if request is not None and self.server.lost.take(request, response):
            self.close_connection = True  # committed, but the reply never arrives
            return
        self._send(response)

    def _request(self, body: Body) -> Request:
        split = urlsplit(self.path)
        query: dict[str, str] = {}
        for name, value in parse_qsl(split.query, keep_blank_values=True):
            if name in query:
                raise errors.invalid(f"query parameter {name!r} given twice", name)
            query[name] = value
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        return Request(self.command, tuple(split.path.strip("/").split("/")), query,
                       {name.lower(): value for name, value in self.headers.items()}, body, f"http://{host}")

    def _drain(self, body: Body) -> None:
        if body.remaining > _DRAIN_LIMIT:
            self.close_connection = True
            return
        while body.remaining and body.read(CHUNK_BYTES):
            pass
        if body.remaining:
            self.close_connection = True

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            length = response.length if response.stream is not None else len(response.body)
            self.send_header("Content-Length", str(length))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command == "HEAD":
                return
            if response.stream is not None:
                _copy(response, self.wfile)
            else:
                self.wfile.write(response.body)
        finally:
            if response.stream is not None:
                response.stream.close()

    def finish(self) -> None:
        try:
            super().finish()
        finally:  # one handler thread per connection: its SQLite connection ends with it
            self.server.store.db.close_thread_connection()

    def log_message(self, format: str, *args: object) -> None:
        _LOG.debug("storage emulator: " + format, *args)


_WRITES = frozenset({"POST", "PUT", "PATCH"})


def _written(response: Response) -> str:
    """The object an upload wrote (its name is in the request's body, not its path)."""
    if response.status != 200 or not response.body.startswith(b'{"kind": "storage#object"'):
        return ""
    return str(json.loads(response.body).get("name", ""))


def _copy(response: Response, out: BufferedIOBase) -> None:
    if response.stream is None:
        return
    remaining = response.length
    while remaining:
        chunk = response.stream.read(min(CHUNK_BYTES, remaining))
        if not chunk:
            raise ConnectionError("object content ended early")
        out.write(chunk)
        remaining -= len(chunk)

