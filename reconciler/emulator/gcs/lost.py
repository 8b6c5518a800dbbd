"""Responses lost after the work is done, as a network may lose them: for tests only.

The write is committed; the client sees its connection close with no reply, and (for a
request with a generation precondition, which google-cloud-storage retries) resends it.
"""

from __future__ import annotations

import json
import threading

from reconciler.emulator.gcs.messages import Request, Response


class LostResponses:
    """Loses the replies to the next `count` successful uploads of objects under `prefix`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._prefix = ""
        self._count = 0

    def arm(self, prefix: str, count: int = 1) -> None:
        with self._lock:
            self._prefix, self._count = prefix, count

    def take(self, request: Request, response: Response) -> bool:
        """Whether to lose this reply (counted down once per lost reply)."""
        if not self._count or request.method != "POST" or response.status != 200:
            return False
        try:
            name = json.loads(response.body).get("name", "")
        except ValueError:
            return False
        with self._lock:
            if self._count and str(name).startswith(self._prefix):
                self._count -= 1
                return True
        return False
