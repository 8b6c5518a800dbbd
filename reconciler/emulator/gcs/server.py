"""The storage emulator's HTTP server: standard library only, on a background thread.

`start_storage(state_dir)` returns a running server and its endpoint for
`storage.Client(client_options={"api_endpoint": endpoint}, credentials=AnonymousCredentials())`.
Any number of servers, in any number of processes, may share one state dir.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from reconciler.emulator.gcs.handler import StorageHandler
from reconciler.emulator.gcs.lost import LostResponses
from reconciler.emulator.gcs.sessions import Sessions
from reconciler.emulator.gcs.store import GcsStore


class StorageHTTPServer(ThreadingHTTPServer):
    """A thread per connection; remembers open connections so stop() can end keep-alives."""

    daemon_threads = True
    # Many clients (threads, processes) may connect at once; the default backlog of 5 would
    # make the kernel drop connections and the clients wait a second to retry.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], store: GcsStore) -> None:
        self.store = store
        self.sessions = Sessions(store)
        self.lost = LostResponses()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, StorageHandler)
        # handle_request() then only handles what the selector already saw as ready.
        self.timeout = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def end_open_connections(self) -> None:
        # Without this a client's pooled keep-alive connection would still reach a handler
        # thread of a stopped server.
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class StorageServer:
    """A Cloud Storage JSON API emulator on `host:port` (port 0: any free port)."""

    def __init__(self, state_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.store = GcsStore(state_dir)
        # Binding happens here, so a taken port fails now and port 0 needs no retry loop.
        self._httpd = StorageHTTPServer((host, port), self.store)
        self._wake_read, self._wake_write = socket.socketpair()
        self._thread: threading.Thread | None = None

    def lose_responses(self, prefix: str, count: int = 1) -> None:
        """Commits the next `count` uploads under `prefix`, then loses their replies."""
        self._httpd.lost.arm(prefix, count)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def endpoint(self) -> str:
        return f"http://{self._httpd.server_address[0]!s}:{self.port}"

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("storage emulator already started")
        self._thread = threading.Thread(target=self._serve, name="gcs-emulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Returns as soon as the server stopped: no polling interval to wait out."""
        if self._thread is not None:
            self._wake_write.send(b"x")
            self._thread.join()
            self._thread = None
        self._httpd.end_open_connections()
        self._httpd.server_close()
        self._wake_read.close()
        self._wake_write.close()

    def _serve(self) -> None:
        # serve_forever() notices shutdown() only on its next 0.5 s poll; a self-pipe in the
        # same selector wakes this loop the moment stop() asks.
        with selectors.DefaultSelector() as selector:
            selector.register(self._httpd, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_read:
                        return
                    self._httpd.handle_request()

    def __enter__(self) -> StorageServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_storage(state_dir: Path, host: str = "127.0.0.1",
                  port: int = 0) -> tuple[StorageServer, str]:
    """Starts a server on `state_dir` and returns it with its endpoint, ready for requests."""
    server = StorageServer(state_dir, host, port)
    server.start()
    return server, server.endpoint

